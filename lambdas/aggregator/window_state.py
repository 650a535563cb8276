"""The aggregator's window state: exact statistics of one shard window, as Lambda carries it.

Lambda's tumbling windows hand the function a ``state`` dict carried from the previous
invocation of the same shard window and expect the new state back. ``WindowAggregate`` is
that state: exact ``Stats`` per ``BucketKey`` (device, site, metric, event-time minute),
plus the window's record counts and the sequence numbers of the first and last Kinesis
record folded into it. A record is committed whole or not at all, and the last committed
sequence number is a watermark (``is_committed``): the state only ever holds a prefix of
the shard's records in the window.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from lambdas.aggregator.records import RecordContribution
from lambdas.shared.aggregates import BucketKey, Stats, bucket_start, partial_item

STATE_VERSION = 1
# Lambda drops a window whose state outgrows this (AWS-SEMANTICS.md); the handler warns early.
STATE_LIMIT_BYTES = 1_000_000


class WindowAggregate:
    """The exact statistics of one shard window (or window piece), as carried in ``state``.

    State format (JSON-safe, compact; ``Stats.to_compact`` per cell)::

        {"v": 1,
         "cells": {"<device>|<site>|<metric>|<bucket epoch s>": [count, "sum", "min",
                                                                 "max", "sumsq"], ...},
         "aggregated": <user records folded>, "quarantined": <user records quarantined>,
         "first_seq": "<sequence number>", "last_seq": "<sequence number>"}

    Cells untouched by an invocation stay in their compact form: loading and saving a large
    state costs a dict copy, not a parse of every cell.
    """

    __slots__ = ("_compact", "_live", "aggregated", "first_sequence", "last_sequence",
                 "quarantined")

    def __init__(self) -> None:
        self._compact: dict[str, list[Any]] = {}
        self._live: dict[str, Stats] = {}
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
        cells = dict(self._compact)
        cells.update((key, stats.to_compact()) for key, stats in self._live.items())
        state: dict[str, Any] = {
            "v": STATE_VERSION,
            "cells": cells,
            "aggregated": self.aggregated,
            "quarantined": self.quarantined,
        }
        if self.first_sequence is not None:
            state["first_seq"] = self.first_sequence
        if self.last_sequence is not None:
            state["last_seq"] = self.last_sequence
        return state

    @property
    def cell_count(self) -> int:
        return len(self._compact.keys() | self._live.keys())

    def is_committed(self, sequence_number: str) -> bool:
        """True when the record is already in the state (re-delivered after a retry)."""
        return self.last_sequence is not None and int(sequence_number) <= int(self.last_sequence)

    def _stats_copy(self, state_key: str) -> Stats | None:
        live = self._live.get(state_key)
        if live is not None:
            return live.copy()
        compact = self._compact.get(state_key)
        return Stats.from_compact(compact) if compact is not None else None

    def commit(self, contribution: RecordContribution) -> None:
        """Fold one record's readings and counts, all or nothing."""
        updated: dict[str, Stats] = {}
        for reading in contribution.readings:
            key = BucketKey(
                reading.device_id, reading.site, reading.metric, bucket_start(reading.ts_ms)
            ).to_state_key()
            stats = updated.get(key)
            if stats is None:
                stats = self._stats_copy(key)
                if stats is None:
                    updated[key] = Stats.of(reading.value)
                    continue
                updated[key] = stats
            stats.add(reading.value)
        # Nothing below can fail: the record is applied whole or not at all.
        self._live.update(updated)
        self.aggregated += contribution.aggregated
        self.quarantined += len(contribution.quarantined)
        if self.first_sequence is None:
            self.first_sequence = contribution.sequence_number
        self.last_sequence = contribution.sequence_number

    def cells(self) -> Iterator[tuple[BucketKey, Stats]]:
        for key, compact in self._compact.items():
            if key not in self._live:
                yield BucketKey.from_state_key(key), Stats.from_compact(compact)
        for key, stats in self._live.items():
            yield BucketKey.from_state_key(key), stats

    def partial_items(
        self, shard_id: str, window_start_s: int, *, segment: str | None = None
    ) -> list[dict[str, Any]]:
        """The DynamoDB items of this window's partial aggregates.

        The item key has no site, so a device that reported two sites within one minute
        gives one item whose stats cover both and whose ``site`` is the first in order.
        """
        merged: dict[tuple[str, str, int], tuple[BucketKey, Stats]] = {}
        for key, stats in sorted(self.cells(), key=lambda cell: cell[0].to_state_key()):
            series = (key.device_id, key.metric, key.bucket)
            if series in merged:
                first_key, total = merged[series]
                total = total.copy()
                total.merge(stats)
                merged[series] = (first_key, total)
            else:
                merged[series] = (key, stats)
        return [
            partial_item(key, stats, shard_id, window_start_s, segment)
            for key, stats in merged.values()
        ]


def state_size_bytes(state: Mapping[str, Any]) -> int:
    """Size of the state as the Lambda runtime serialises the response (``json.dumps``)."""
    return len(json.dumps(state).encode("utf-8"))


__all__ = ["STATE_LIMIT_BYTES", "STATE_VERSION", "WindowAggregate", "state_size_bytes"]
