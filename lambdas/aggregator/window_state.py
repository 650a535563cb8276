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
# A piece is sealed before its state would pass this (``WindowAggregate``), well under the
# limit: one more record, and the state's counters, always fit.
DEFAULT_SEAL_BYTES = 600_000


def cell_key(device_id: str, bucket: int) -> str:
    return f"{device_id}{STATE_SEPARATOR}{bucket}"


def split_cell_key(key: str) -> tuple[str, int]:
    device_id, bucket = key.split(STATE_SEPARATOR)
    return device_id, int(bucket)


Undo = list[tuple[str, CellWriter, tuple[int, int, int, int, int], bool]]


class WindowAggregate:
    """The readings of one shard window's current *piece*, as carried in ``state``.

    State format (JSON-safe, compact)::

        {"v": 2,
         "cells": {"<device>|<minute epoch s>": ["<sites>", "<metrics>", "<readings>",
                                                  <readings in the cell>], ...},
         "bytes": <size of the cells, about as serialised>,
         "sealed": <pieces of this window already written>,
         "aggregated": <user records folded>, "quarantined": <user records quarantined>,
         "first_seq": "<first sequence number of the piece>",
         "last_seq": "<last sequence number folded>"}

    Cells untouched by an invocation stay in their compact form, and a touched cell only
    appends to its text: loading and saving a large state parses no reading.

    **Pieces.** A record that would take the piece past ``seal_bytes`` first *seals* it:
    the piece's cells are set aside (``sealed_pieces``, written by the handler before the
    invocation returns) and the record starts the next piece. Where a window is cut
    depends only on its records in order, never on how Lambda batched them, so a retried
    or replayed window is cut at the same records and rewrites the same partials; and
    the state Lambda carries stays under ``seal_bytes`` (Lambda ends a window whose state
    passes 1 MB: that never happens with the default).
    """

    __slots__ = ("_compact", "_live", "aggregated", "first_sequence", "last_sequence",
                 "piece_bytes", "quarantined", "seal_bytes", "sealed", "sealed_pieces")

    def __init__(self, seal_bytes: int = DEFAULT_SEAL_BYTES) -> None:
        self._compact: dict[str, list[Any]] = {}
        self._live: dict[str, CellWriter] = {}
        self.seal_bytes = seal_bytes
        self.piece_bytes = 0
        self.sealed = 0
        self.sealed_pieces: list[tuple[str, dict[str, list[Any]]]] = []
        self.aggregated = 0
        self.quarantined = 0
        self.first_sequence: str | None = None
        self.last_sequence: str | None = None

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None,
                   seal_bytes: int = DEFAULT_SEAL_BYTES) -> WindowAggregate:
        aggregate = cls(seal_bytes)
        if not state:
            return aggregate
        version = state.get("v")
        if version != STATE_VERSION:
            raise ValueError(f"window state version {version!r} is not supported")
        aggregate._compact = dict(state.get("cells") or {})
        aggregate.piece_bytes = int(state.get("bytes", 0))
        aggregate.sealed = int(state.get("sealed", 0))
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
            "bytes": self.piece_bytes,
            "sealed": self.sealed,
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
        if compact is not None:
            writer = CellWriter.from_compact(bucket, compact)
        else:
            writer = CellWriter(bucket)
            self.piece_bytes += writer.size + len(key)
        self._live[key] = writer
        return writer, True

    def _append(self, contribution: RecordContribution) -> Undo:
        """Append the record's readings; on failure undo them and re-raise."""
        undo: Undo = []
        try:
            for device_id, entry in contribution.entries:
                bucket = bucket_start(entry.ts_ms)
                key = cell_key(device_id, bucket)
                writer, created = self._writer(key, bucket)
                undo.append((key, writer, writer.checkpoint(), created))
                size = writer.size
                writer.append(entry)
                self.piece_bytes += writer.size - size
        except BaseException:
            self._undo(undo)
            raise
        return undo

    def _undo(self, undo: Undo) -> None:
        for key, writer, checkpoint, created in reversed(undo):
            self.piece_bytes -= writer.size - checkpoint[4]
            writer.restore(checkpoint)
            if created:
                del self._live[key]
                if key not in self._compact:
                    self.piece_bytes -= writer.size + len(key)

    def commit(self, contribution: RecordContribution) -> None:
        """Fold one record's readings and counts, all or nothing (a failure part-way
        undoes the record's appends); seal the piece first if the record would take it
        past ``seal_bytes``."""
        had_readings = self.piece_bytes > 0
        undo = self._append(contribution)
        if had_readings and self.piece_bytes > self.seal_bytes:
            self._undo(undo)
            self._seal()
            self._append(contribution)
        self.aggregated += contribution.aggregated
        self.quarantined += len(contribution.quarantined)
        if self.first_sequence is None:
            self.first_sequence = contribution.sequence_number
        self.last_sequence = contribution.sequence_number

    def _seal(self) -> None:
        assert self.first_sequence is not None  # a piece with readings has a first record
        self.sealed_pieces.append((self.first_sequence, self._cells()))
        self._compact, self._live = {}, {}
        self.piece_bytes = 0
        self.sealed += 1
        self.first_sequence = None

    def partial_items(
        self, shard_id: str, window_start_s: int, *, segment: str | None = None
    ) -> list[dict[str, Any]]:
        """The DynamoDB items of the current piece's partials: one per device-minute
        (more when a cell's readings exceed what one item holds)."""
        return _items(self._cells(), shard_id, window_start_s, segment)

    def sealed_items(self, shard_id: str, window_start_s: int,
                     replay_segment: str | None = None) -> list[dict[str, Any]]:
        """The partials of the pieces sealed by this invocation, each under the segment
        of its first record (``<replay segment>.<first record>`` in a replayed batch)."""
        items: list[dict[str, Any]] = []
        for first, cells in self.sealed_pieces:
            segment = f"{replay_segment}.{first}" if replay_segment else first
            items.extend(_items(cells, shard_id, window_start_s, segment))
        return items


def _items(cells: Mapping[str, Any], shard_id: str, window_start_s: int,
           segment: str | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for key, compact in sorted(cells.items()):
        device_id, bucket = split_cell_key(key)
        items.extend(partial_items_of_cell(device_id, bucket, compact, shard_id,
                                           window_start_s, segment))
    return items


def state_size_bytes(state: Mapping[str, Any]) -> int:
    """Size of the state as the Lambda runtime serialises the response (``json.dumps``)."""
    return len(json.dumps(state).encode("utf-8"))


__all__ = ["DEFAULT_SEAL_BYTES", "STATE_LIMIT_BYTES", "STATE_VERSION", "WindowAggregate",
           "split_cell_key", "state_size_bytes"]
