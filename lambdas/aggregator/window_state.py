"""The aggregator's window state: the readings of one shard window, as Lambda carries it.

Lambda's tumbling windows hand the function a ``state`` dict carried from the previous
invocation of the same shard window and expect the new state back. ``WindowAggregate`` is
that state: the window's readings, one *cell* per (device, event-time minute) in the
compact text of ``lambdas/shared/readings.py``, plus the window's record counts and the
sequence numbers of the first and last Kinesis record folded into it. A record is
committed whole or not at all, and the last committed sequence number is a watermark
(``is_committed``): the state only ever holds a prefix of the shard's records in the window.

The readings themselves, not running statistics, are what the window carries: a copy of
a reading that arrives in another window, another record or a replay can then be told
apart from a new reading when the rollup merges the minute's partials (exactly once per
reading, ``lambdas/shared/minute_merge.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lambdas.aggregator.records import RecordContribution
from lambdas.shared.aggregates import STATE_SEPARATOR, bucket_start
from lambdas.shared.partials import partial_items_of_cell
from lambdas.shared.readings import CellWriter

STATE_VERSION = 2
# Lambda drops a window whose state outgrows this (AWS-SEMANTICS.md); the handler warns early.
STATE_LIMIT_BYTES = 1_000_000


def cell_key(device_id: str, bucket: int) -> str:
    return f"{device_id}{STATE_SEPARATOR}{bucket}"


def split_cell_key(key: str) -> tuple[str, int]:
    device_id, bucket = key.split(STATE_SEPARATOR)
    return device_id, int(bucket)


class WindowAggregate:
    """The readings of one shard window (or window piece), as carried in ``state``.

    State format (JSON-safe, compact)::

        {"v": 2,
         "cells": {"<device>|<minute epoch s>": ["<sites>", "<metrics>", "<readings>",
                                                  <readings in the cell>], ...},
         "aggregated": <user records folded>, "quarantined": <user records quarantined>,
         "first_seq": "<sequence number>", "last_seq": "<sequence number>"}

    Cells untouched by an invocation stay in their compact form, and a touched cell only
    appends to its text: loading and saving a large state parses no reading.
    """

    __slots__ = ("_compact", "_live", "aggregated", "first_sequence", "last_sequence",
                 "quarantined")

    def __init__(self) -> None:
        self._compact: dict[str, list[Any]] = {}
        self._live: dict[str, CellWriter] = {}
        self.aggregated = 0
        self.quarantined = 0
        self.first_sequence: str | None = None
        self.last_sequence: str | None = None

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> WindowAggregate:
        aggregate = cls()
        if not state:
            return aggregate
        version = state.get("v")
        if version != STATE_VERSION:
            raise ValueError(f"window state version {version!r} is not supported")
        aggregate._compact = dict(state.get("cells") or {})
        aggregate.aggregated = int(state.get("aggregated", 0))
        aggregate.quarantined = int(state.get("quarantined", 0))
        aggregate.first_sequence = state.get("first_seq")
        aggregate.last_sequence = state.get("last_seq")
        return aggregate

    def to_state(self) -> dict[str, Any]:
        if self.last_sequence is None and not self._compact and not self._live:
            return {}
        state: dict[str, Any] = {
            "v": STATE_VERSION,
            "cells": self._cells(),
            "aggregated": self.aggregated,
            "quarantined": self.quarantined,
        }
        if self.first_sequence is not None:
            state["first_seq"] = self.first_sequence
        if self.last_sequence is not None:
            state["last_seq"] = self.last_sequence
        return state

    def _cells(self) -> dict[str, list[Any]]:
        cells = dict(self._compact)
        cells.update((key, writer.to_compact()) for key, writer in self._live.items())
        return cells

    @property
    def cell_count(self) -> int:
        return len(self._compact.keys() | self._live.keys())

    def is_committed(self, sequence_number: str) -> bool:
        """True when the record is already in the state (re-delivered after a retry)."""
        return self.last_sequence is not None and int(sequence_number) <= int(self.last_sequence)

    def _writer(self, key: str, bucket: int) -> tuple[CellWriter, bool]:
        writer = self._live.get(key)
        if writer is not None:
            return writer, False
        compact = self._compact.get(key)
        writer = CellWriter.from_compact(bucket, compact) if compact is not None else \
            CellWriter(bucket)
        self._live[key] = writer
        return writer, True

    def commit(self, contribution: RecordContribution) -> None:
        """Fold one record's readings and counts, all or nothing: a failure part-way
        undoes the record's appends."""
        undo: list[tuple[str, CellWriter, tuple[int, int, int, int], bool]] = []
        try:
            for device_id, entry in contribution.entries:
                bucket = bucket_start(entry.ts_ms)
                key = cell_key(device_id, bucket)
                writer, created = self._writer(key, bucket)
                undo.append((key, writer, writer.checkpoint(), created))
                writer.append(entry)
        except BaseException:
            for key, writer, checkpoint, created in reversed(undo):
                writer.restore(checkpoint)
                if created:
                    del self._live[key]
            raise
        self.aggregated += contribution.aggregated
        self.quarantined += len(contribution.quarantined)
        if self.first_sequence is None:
            self.first_sequence = contribution.sequence_number
        self.last_sequence = contribution.sequence_number

    def partial_items(
        self, shard_id: str, window_start_s: int, *, segment: str | None = None
    ) -> list[dict[str, Any]]:
        """The DynamoDB items of this window's partials: one per device-minute (more
        when a cell's readings exceed what one item holds)."""
        items: list[dict[str, Any]] = []
        for key, compact in sorted(self._cells().items()):
            device_id, bucket = split_cell_key(key)
            items.extend(partial_items_of_cell(device_id, bucket, compact, shard_id,
                                               window_start_s, segment))
        return items


def state_size_bytes(state: Mapping[str, Any]) -> int:
    """Size of the state as the Lambda runtime serialises the response (``json.dumps``)."""
    return len(json.dumps(state).encode("utf-8"))


__all__ = ["STATE_LIMIT_BYTES", "STATE_VERSION", "WindowAggregate", "state_size_bytes"]
