"""What the embedded AWS keeps on disk, not in memory: DynamoDB stream records and items.

A table's stream holds 24 hours of records, about two for each item written, and a table
holds its items for as long as it lives. Even packed (``embedded_memory``,
``embedded_items``) they were most of what a local stack at a steady rate added to its
memory every minute. Both are written once per change and read back a few times, so a
file suits them: one sqlite database per process (``embedded.sqlite`` in the stack's
state directory, else in a temporary directory) holds both, and the page cache sqlite
keeps is their memory.

* **Stream records**: each stream shard's ``items`` is a view of rows. The view behaves
  as the list moto kept (``len``, ``append``, indexing and slicing by position, where a
  position is the sequence number less the shard's first) and a trimmed position reads
  as ``None``, as it did in the list. Rows of a shard moto has forgotten (table deleted,
  backends reset) are deleted at the next write.
* **Item attributes**: rows of ``embedded_item_store.ItemStore``, in the same database.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from shardline.local.embedded_memory import unpack_record

DATABASE_NAME = "embedded.sqlite"
READ_PAGE = 1000

_database_lock = threading.Lock()
_database: SpillDatabase | None = None
_stores: dict[type, Any] = {}  # the process's store of each kind, by kind
_directory: Path | None = None
_shard_keys = itertools.count(1)
_Store = TypeVar("_Store")


class SpillDatabase:
    """One sqlite connection, safe across threads (``with database.locked() as db``).
    Nothing here needs to survive the process, so sqlite neither journals nor syncs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")

    @contextlib.contextmanager
    def locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db


class RecordStore:
    """Stream records by (shard key, position)."""

    def __init__(self, database: SpillDatabase) -> None:
        self.database = database
        self.forgotten_shards: deque[int] = deque()
        with database.locked() as db:
            db.execute("DROP TABLE IF EXISTS records")  # a previous run's
            db.execute("CREATE TABLE records (shard INTEGER, position INTEGER, "
                       "created_at REAL, packed BLOB, PRIMARY KEY (shard, position)) "
                       "WITHOUT ROWID")

    def insert(self, shard: int, position: int, created_at: float, packed: bytes) -> None:
        with self.database.locked() as db:
            self._delete_forgotten(db)
            db.execute("INSERT INTO records VALUES (?, ?, ?, ?)",
                       (shard, position, created_at, packed))

    def select(self, shard: int, start: int, stop: int) -> dict[int, tuple[float, bytes]]:
        """Rows held at positions ``start`` to ``stop - 1``, by position."""
        with self.database.locked() as db:
            rows = db.execute(
                "SELECT position, created_at, packed FROM records WHERE shard = ? AND "
                "position >= ? AND position < ?", (shard, start, stop)).fetchall()
        return {position: (created_at, packed) for position, created_at, packed in rows}

    def delete(self, shard: int, start: int, stop: int) -> None:
        with self.database.locked() as db:
            db.execute("DELETE FROM records WHERE shard = ? AND position >= ? AND "
                       "position < ?", (shard, start, stop))

    def forget(self, shard: int) -> None:
        """A shard moto let go of: its rows go at the next insert (or ``flush``). Called
        by the garbage collector, maybe inside a call holding the lock, so it takes none."""
        self.forgotten_shards.append(shard)

    def flush(self) -> None:
        with self.database.locked() as db:
            self._delete_forgotten(db)

    def _delete_forgotten(self, db: sqlite3.Connection) -> None:
        while self.forgotten_shards:  # only callers holding the lock take from it
            db.execute("DELETE FROM records WHERE shard = ?", (self.forgotten_shards.popleft(),))


class SpilledRecord:
    """A stream record read back from disk: what moto's reader and the trimming use."""

    __slots__ = ("_packed", "created_at")

    def __init__(self, created_at: float, packed: bytes) -> None:
        self.created_at = created_at
        self._packed = packed

    @property
    def record(self) -> dict[str, Any]:
        return unpack_record(self._packed)

    def to_json(self) -> dict[str, Any]:
        return self.record


class SpilledRecords:
    """A stream shard's records, as the list moto kept, stored in a ``RecordStore``."""

    def __init__(self, store: RecordStore) -> None:
        self._store = store
        self._key = next(_shard_keys)
        self._length = 0
        weakref.finalize(self, store.forget, self._key)

    def __len__(self) -> int:
        return self._length

    def append(self, record: Any) -> None:
        self._store.insert(self._key, self._length, record.created_at, record._packed)
        self._length += 1

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            held = self._store.select(self._key, start, stop)
            return [_record(held.get(position)) for position in range(start, stop, step)]
        position = self._position(index)
        return _record(self._store.select(self._key, position, position + 1).get(position))

    def __setitem__(self, index: int, value: None) -> None:
        """Trimming empties a position; a record itself never changes."""
        if value is not None:
            raise TypeError("a stream record does not change once written")
        position = self._position(index)
        self._store.delete(self._key, position, position + 1)

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, self._length, READ_PAGE):
            yield from self[start:start + READ_PAGE]

    def _position(self, index: int) -> int:
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError("stream record position out of range")
        return position


def _record(row: tuple[float, bytes] | None) -> SpilledRecord | None:
    return SpilledRecord(*row) if row is not None else None


def spill_to(directory: Path | None) -> None:
    """Where the database is created (the stack's state directory); first use decides."""
    global _directory
    _directory = directory


def spill_database() -> SpillDatabase:
    """The process's database, created on first use."""
    global _database
    with _database_lock:
        if _database is None:
            directory = _directory
            if directory is None:
                directory = Path(tempfile.mkdtemp(prefix="shardline-spill-"))
                atexit.register(shutil.rmtree, directory, True)
            directory.mkdir(parents=True, exist_ok=True)
            _database = SpillDatabase(directory / DATABASE_NAME)
        return _database


def record_store() -> RecordStore:
    """The process's stream record store, created on first use."""
    return process_store(RecordStore)


def process_store(kind: type[_Store]) -> _Store:
    """The process's store of a kind (``kind(database)``), created on first use."""
    store = _stores.get(kind)
    if store is None:
        database = spill_database()
        with _database_lock:
            store = _stores.get(kind)
            if store is None:
                store = _stores[kind] = kind(database)
    return store  # type: ignore[no-any-return]


def spill_dynamodb_stream_records() -> None:
    """Every stream shard moto creates keeps its records in the process's store."""
    from moto.dynamodb.models.table import StreamShard

    original_init = StreamShard.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.items = SpilledRecords(record_store())

    StreamShard.__init__ = __init__
