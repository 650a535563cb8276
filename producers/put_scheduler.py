"""Which records go into each PutRecords call, so that retries add no reordering of a key.

Records of an ordering key go out in input order; once one fails, no unsent record of its
key goes out until it is accepted, and a retried record goes before any record of its key
sent later. ``max_per_key`` caps the records of a key in one call.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from producers.put_entries import PutEntry


@dataclass(slots=True)
class PendingEntry:
    """An entry on its way: its input position (for ordering) and failed sends so far."""

    order: int
    entry: PutEntry
    size: int
    failures: int = 0

    @property
    def key(self) -> str:
        return self.entry.order_key


class PutScheduler:
    """Chooses the records of each call so that retries add no reordering of a key.

    Three queues, each in input order: ``retries`` (sent, failed), ``held`` (never sent,
    waiting behind a failed record of their key) and ``fresh``. Every ``held`` record is
    older than every ``fresh`` one, because records only move from fresh to held.
    """

    def __init__(self, pending: Iterable[PendingEntry]) -> None:
        self._retries: list[PendingEntry] = []
        self._held: deque[PendingEntry] = deque()
        self._fresh: deque[PendingEntry] = deque(pending)

    def __bool__(self) -> bool:
        return bool(self._retries or self._held or self._fresh)

    def next_batch(
        self, max_records: int, max_bytes: int, max_per_key: int | None = None
    ) -> list[PendingEntry]:
        batch: list[PendingEntry] = []
        size = 0
        per_key: Counter[str] = Counter()
        # Keys with a failed record still waiting: none of their unsent records may go
        # until it is accepted (this also takes load off a throttled shard).
        blocked = {pending.key for pending in self._retries}

        def fits(pending: PendingEntry) -> bool:
            return len(batch) < max_records and size + pending.size <= max_bytes

        def key_full(pending: PendingEntry) -> bool:
            return max_per_key is not None and per_key[pending.key] >= max_per_key

        def take(pending: PendingEntry) -> None:
            nonlocal size
            batch.append(pending)
            size += pending.size
            per_key[pending.key] += 1

        # Retries go first, oldest first, so a failed record is never overtaken by a
        # record of its key sent in a later call.
        waiting: list[PendingEntry] = []
        for index, pending in enumerate(self._retries):
            if not fits(pending):
                waiting.extend(self._retries[index:])
                break
            if key_full(pending):
                waiting.append(pending)
            else:
                take(pending)
        self._retries = waiting

        held_next: deque[PendingEntry] = deque()
        full = False
        for source in (self._held, self._fresh):
            while source and not full:
                pending = source[0]
                # A key at its per-call quota waits like a blocked one, so its later
                # records cannot overtake it either.
                if pending.key in blocked or key_full(pending):
                    held_next.append(source.popleft())
                elif fits(pending):
                    take(source.popleft())
                else:
                    full = True  # leave it and everything after it where it is
        # Scanned-and-held records are older than the unscanned rest of ``held``.
        held_next.extend(self._held)
        self._held = held_next
        return batch

    def requeue_failed(self, failed: Iterable[PendingEntry]) -> None:
        self._retries = sorted([*self._retries, *failed], key=lambda pending: pending.order)

    def remaining(self) -> list[PutEntry]:
        everything = [*self._retries, *self._held, *self._fresh]
        return [pending.entry for pending in sorted(everything, key=lambda p: p.order)]
