"""DynamoDB items' packed attributes kept on disk by the embedded AWS (``embedded_items``).

An item at rest holds a ``StoredRow``: the id of its packed attributes' row in an
``items`` table of the process's spill database (``embedded_spill``, beside the stream
records). A row never changes: a changed item is packed into a new row, so a copy of an
item (moto copies one on every update, and a transaction copies the whole table) shares
its row safely. A row is deleted once nothing holds its ``StoredRow`` (the item replaced
or deleted, its table deleted, the backends reset).

Every table write runs under one exclusive lock (``embedded_items``), and sqlite lets go
of Python's interpreter lock while it works: with many request threads waiting, getting
it back can take a thread switch interval (5 ms) each time. So the store keeps its own
work out of sqlite where it can:

* new rows are held in memory and written ``WRITE_BATCH`` at a time (one INSERT of them
  all, with the DELETE of the rows let go of meanwhile);
* the rows written or read last are kept in memory too (``cache_bytes``): the
  aggregator updates the same few items over and over.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable

from shardline.local.embedded_spill import SpillDatabase, process_store

ITEM_CACHE_BYTES = 4 * 1024 * 1024
WRITE_BATCH = 256  # new rows held in memory before they are written together
_IN_CHUNK = 500  # ids per ``IN (...)``: sqlite allows 999 parameters at the least


class StoredRow(int):
    """The id of an item's packed attributes in an ``ItemStore`` (an int, ~60 bytes). When
    the last holder lets go of it, its row is deleted (at the store's next write)."""

    __slots__ = ()
    store: ItemStore

    def __del__(self) -> None:
        # Runs wherever the last reference goes, even inside a store call on this
        # thread: it only notes the id (deque appends are atomic), the store deletes.
        self.store.forgotten.append(int(self))


class ItemStore:
    """Items' packed attributes by row id: new rows and the rows used last in memory, the
    rest in sqlite. Safe across threads."""

    def __init__(self, database: SpillDatabase, cache_bytes: int = ITEM_CACHE_BYTES,
                 write_batch: int = WRITE_BATCH) -> None:
        self.database = database
        self.cache_bytes = cache_bytes
        self.write_batch = write_batch
        self.forgotten: deque[int] = deque()
        self._lock = threading.Lock()  # the two dicts below; taken before the database's
        self._pending: dict[int, bytes] = {}  # new rows, not yet written
        self._cache: OrderedDict[int, bytes] = OrderedDict()  # written rows, last used last
        self._cached = 0
        self._ids = itertools.count(1)
        self._row = type("StoredRow", (StoredRow,), {"__slots__": (), "store": self})
        with database.locked() as db:
            db.execute("DROP TABLE IF EXISTS items")  # a previous run's
            db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, packed BLOB)")

    def add(self, packed: bytes) -> StoredRow:
        """A new row holding ``packed``."""
        number = next(self._ids)
        with self._lock:
            self._pending[number] = packed
            if len(self._pending) >= self.write_batch:
                self._write_pending()
        return self._row(number)  # type: ignore[no-any-return]

    def read(self, row: int) -> bytes:
        row = int(row)  # the cache holds numbers, never a holder
        with self._lock:
            packed = self._pending.get(row)
            if packed is not None:
                return packed
            packed = self._cache.get(row)
            if packed is None:
                with self.database.locked() as db:
                    packed = db.execute("SELECT packed FROM items WHERE id = ?",
                                        (row,)).fetchone()[0]
            self._remember(row, packed)
        return packed

    def read_many(self, rows: Iterable[int]) -> dict[int, bytes]:
        """Several rows at once, by id, leaving the cache as it was."""
        found: dict[int, bytes] = {}
        wanted = []
        with self._lock:
            for row in dict.fromkeys(int(row) for row in rows):
                packed = self._pending.get(row) or self._cache.get(row)
                if packed is None:
                    wanted.append(row)
                else:
                    found[row] = packed
            with self.database.locked() as db:
                for start in range(0, len(wanted), _IN_CHUNK):
                    chunk = wanted[start:start + _IN_CHUNK]
                    found.update(db.execute(
                        f"SELECT id, packed FROM items WHERE id IN "
                        f"({','.join('?' * len(chunk))})", chunk).fetchall())
        return found

    def holding(self, needles: list[bytes]) -> set[int]:
        """The ids of the rows whose bytes contain every one of ``needles``."""
        where = " AND ".join("instr(packed, ?) > 0" for _ in needles)
        with self._lock:
            held = {row for row, packed in self._pending.items()
                    if all(needle in packed for needle in needles)}
            with self.database.locked() as db:
                held.update(row for (row,) in db.execute(
                    f"SELECT id FROM items WHERE {where}", needles).fetchall())
        return held

    def flush(self) -> int:
        """Write the new rows, delete the rows nothing holds; how many rows remain."""
        with self._lock:
            self._write_pending()
            with self.database.locked() as db:
                return int(db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def _write_pending(self) -> None:
        """Write the new rows and delete the ones let go of (``_lock`` held)."""
        gone = []
        with contextlib.suppress(IndexError):
            while True:
                gone.append(self.forgotten.popleft())
        for row in gone:
            self._pending.pop(row, None)
            packed = self._cache.pop(row, None)
            if packed is not None:
                self._cached -= len(packed)
        with self.database.locked() as db:
            self._write(db, gone)
        for row, packed in self._pending.items():  # the newest rows: the likeliest read
            self._remember(row, packed)
        self._pending.clear()

    def _write(self, db: sqlite3.Connection, gone: list[int]) -> None:
        if self._pending:
            db.executemany("INSERT INTO items VALUES (?, ?)", self._pending.items())
        if gone:
            db.executemany("DELETE FROM items WHERE id = ?", ((row,) for row in gone))

    def _remember(self, row: int, packed: bytes) -> None:
        cache = self._cache
        if cache.pop(row, None) is None:
            self._cached += len(packed)
        cache[row] = packed
        while self._cached > self.cache_bytes:
            self._cached -= len(cache.popitem(last=False)[1])


def item_store() -> ItemStore:
    """The process's item store, created on first use."""
    return process_store(ItemStore)
