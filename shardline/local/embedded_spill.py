"""DynamoDB stream records kept on disk by the embedded AWS, not in memory.

A table's stream holds 24 hours of records, about two for each item written. Even packed
(``embedded_memory``: about 0.6 KB with its object) they were the larger half of what a
local stack at a steady rate added to its memory every minute, for a day before trimming
let go of the first ones. A record is written once, read soon after by the mappings near
the tip, and read again only by a reader starting at the trim horizon, so a file suits
it: each stream shard's ``items`` is a view of rows in one sqlite database per process
(``streams.sqlite`` in the stack's state directory, else in a temporary directory), and
the page cache sqlite keeps is its memory.

The view behaves as the list moto kept (``len``, ``append``, indexing and slicing by
position, where a position is the sequence number less the shard's first) and a trimmed
position reads as ``None``, as it did in the list. Rows of a shard moto has forgotten
(table deleted, backends reset) are deleted with it.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shardline.local.embedded_memory import unpack_record

DATABASE_NAME = "streams.sqlite"
READ_PAGE = 1000

_store_lock = threading.Lock()
_store: RecordStore | None = None
_directory: Path | None = None
_shard_keys = itertools.count(1)


class RecordStore:
    """Stream records by (shard key, position) in one sqlite file, safe across threads.
    Nothing here needs to survive the process, so sqlite neither journals nor syncs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("DROP TABLE IF EXISTS records")  # a previous run's
        self._db.execute("CREATE TABLE records (shard INTEGER, position INTEGER, "
                         "created_at REAL, packed BLOB, PRIMARY KEY (shard, position)) "
                         "WITHOUT ROWID")

    def insert(self, shard: int, position: int, created_at: float, packed: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT INTO records VALUES (?, ?, ?, ?)",
                             (shard, position, created_at, packed))

    def select(self, shard: int, start: int, stop: int) -> dict[int, tuple[float, bytes]]:
        """Rows held at positions ``start`` to ``stop - 1``, by position."""
        with self._lock:
            rows = self._db.execute(
                "SELECT position, created_at, packed FROM records WHERE shard = ? AND "
                "position >= ? AND position < ?", (shard, start, stop)).fetchall()
        return {position: (created_at, packed) for position, created_at, packed in rows}

    def delete(self, shard: int, start: int, stop: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM records WHERE shard = ? AND position >= ? AND "
                             "position < ?", (shard, start, stop))


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
        weakref.finalize(self, store.delete, self._key, 0, 2**62)

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
    """Where the store is created (the stack's state directory); first use decides."""
    global _directory
    _directory = directory


def record_store() -> RecordStore:
    """The process's store, created on first use."""
    global _store
    with _store_lock:
        if _store is None:
            directory = _directory
            if directory is None:
                directory = Path(tempfile.mkdtemp(prefix="shardline-streams-"))
                atexit.register(shutil.rmtree, directory, True)
            directory.mkdir(parents=True, exist_ok=True)
            _store = RecordStore(directory / DATABASE_NAME)
        return _store


def spill_dynamodb_stream_records() -> None:
    """Every stream shard moto creates keeps its records in the process's store."""
    from moto.dynamodb.models.table import StreamShard

    original_init = StreamShard.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.items = SpilledRecords(record_store())

    StreamShard.__init__ = __init__
