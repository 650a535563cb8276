"""Pure window aggregation for the aggregator Lambda (no AWS, no I/O).

Lambda's tumbling windows hand the function a ``state`` dict carried from the previous
invocation of the same shard window and expect the new state back. ``WindowAggregate`` is
that state: exact ``Stats`` per ``BucketKey`` (device, site, metric, event-time minute),
plus the window's record counts and the sequence numbers of the first and last Kinesis
record folded into it.

Stream semantics this module guarantees (AWS-SEMANTICS.md, DESIGN.md "Correctness model"):

* A Kinesis record is folded atomically: all its readings or none of them.
* The state only ever holds a *prefix* of the shard's records in the window. After the
  first failed record of an invocation every later record of that invocation is refused
  (``RecordSkipped``) and reported failed too, because Lambda re-delivers everything from
  the lowest failed sequence number; folding a later record now would count it twice.
* Because the state is a prefix, the last folded sequence number is a watermark: a record
  re-delivered at or below it is already in the state and is skipped, not double counted.
* Invalid user records are quarantined (counted with a reason), never failed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lambdas.aggregator.kpl import split_user_records
from lambdas.shared import telemetry
from lambdas.shared.aggregates import BucketKey, Stats, bucket_start, partial_item
from lambdas.shared.telemetry import InvalidTelemetry, Reading

STATE_VERSION = 1
# Lambda drops a window whose state outgrows this (AWS-SEMANTICS.md); the handler warns early.
STATE_LIMIT_BYTES = 1_000_000

# DynamoDB numbers lie within 1E-130..1E+126 (38 digits, see aggregates.STATS_CONTEXT).
# A reading outside these magnitudes would make its partial (the sum of squares first)
# unwritable and so block the shard at the window's final invoke: it is quarantined.
MIN_STORABLE_MAGNITUDE = Decimal("1E-30")
MAX_STORABLE_MAGNITUDE = Decimal("1E+30")

# Partials of a failed batch re-driven by ``shardline dlq replay`` carry this SK segment:
# deterministic (the batch's first sequence number), so replaying twice rewrites the same
# items, and never equal to a window piece's segment (a bare sequence number).
REPLAY_SEGMENT = re.compile(r"replay-[0-9]{1,128}")

# How much of a quarantined record's bytes a log line carries (base64).
QUARANTINE_SAMPLE_BYTES = 1024


class RecordSkipped(RuntimeError):
    """A record after an earlier failed record of the same invocation; it will be re-delivered."""


class InjectedFault(RuntimeError):
    """Raised for a record of a device named in ``FAULT_INJECT_DEVICE_IDS`` (drills, tests)."""


class InvalidWindowEvent(ValueError):
    """The event is not a Kinesis tumbling-window event (misconfigured event source mapping)."""


def parse_aws_timestamp(text: str) -> int:
    """Epoch seconds of an ISO-8601 timestamp as Lambda sends it ("2020-07-30T17:00:00Z").

    Fractional seconds and explicit offsets are accepted; a timestamp without a zone is UTC.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError) as exc:
        raise InvalidWindowEvent(f"window timestamp {text!r} is not ISO-8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() // 1)


@dataclass(frozen=True, slots=True)
class WindowInvocation:
    """The tumbling-window part of a Kinesis event."""

    shard_id: str
    window_start_s: int
    window_end_s: int
    state: Mapping[str, Any]
    is_final: bool = False
    terminated_early: bool = False
    event_source_arn: str | None = None
    # Set only by ``shardline dlq replay``: the SK segment of the re-driven batch's partials.
    replay_segment: str | None = None

    @property
    def closes_window(self) -> bool:
        """This invocation ends the window (or its current piece): flush, restart state."""
        return self.is_final or self.terminated_early

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WindowInvocation:
        window = event.get("window")
        if not isinstance(window, Mapping) or "start" not in window or "end" not in window:
            raise InvalidWindowEvent(
                "event has no tumbling window: the event source mapping needs "
                "TumblingWindowInSeconds > 0"
            )
        shard_id = event.get("shardId") or _shard_from_records(event.get("Records") or [])
        if not shard_id:
            raise InvalidWindowEvent("event names no shardId")
        state = event.get("state") or {}
        if not isinstance(state, Mapping):
            raise InvalidWindowEvent(f"window state is a {type(state).__name__}, not an object")
        replay = event.get("replay")
        replay_segment = None
        if replay is not None:
            replay_segment = replay.get("segment") if isinstance(replay, Mapping) else None
            if not isinstance(replay_segment, str) or not REPLAY_SEGMENT.fullmatch(
                replay_segment
            ):
                raise InvalidWindowEvent(
                    f"replay segment {replay_segment!r} is not replay-<sequence number>"
                )
        return cls(
            shard_id=str(shard_id),
            window_start_s=parse_aws_timestamp(window["start"]),
            window_end_s=parse_aws_timestamp(window["end"]),
            state=state,
            is_final=bool(event.get("isFinalInvokeForWindow")),
            terminated_early=bool(event.get("isWindowTerminatedEarly")),
            event_source_arn=event.get("eventSourceARN"),
            replay_segment=replay_segment,
        )


def _shard_from_records(records: list[Mapping[str, Any]]) -> str | None:
    # eventID is "<shard id>:<sequence number>"
    for record in records:
        event_id = record.get("eventID") or ""
        if ":" in event_id:
            return event_id.split(":", 1)[0]
    return None


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A user record that failed validation; kept with what is needed to find and replay it."""

    reason: str
    sequence_number: str
    sub_sequence_number: int | None
    partition_key: str | None
    data: bytes

    def log_fields(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "sequence_number": self.sequence_number,
            "sub_sequence_number": self.sub_sequence_number,
            "device_id": self.partition_key,
            "data_bytes": len(self.data),
            "data_b64": base64.b64encode(self.data[:QUARANTINE_SAMPLE_BYTES]).decode("ascii"),
        }


@dataclass(slots=True)
class RecordContribution:
    """What one Kinesis record adds to the window."""

    sequence_number: str
    readings: list[Reading] = field(default_factory=list)
    aggregated: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)


def check_storable(readings: list[Reading]) -> None:
    """Raise ``InvalidTelemetry`` for a value whose statistics DynamoDB could not store."""
    for reading in readings:
        magnitude = abs(reading.value)
        if magnitude and not MIN_STORABLE_MAGNITUDE <= magnitude <= MAX_STORABLE_MAGNITUDE:
            raise InvalidTelemetry(
                f"range: metric {reading.metric}={reading.value} is outside the storable "
                f"magnitudes {MIN_STORABLE_MAGNITUDE}..{MAX_STORABLE_MAGNITUDE}"
            )


def read_record(
    sequence_number: str, data: bytes, partition_key: str | None = None
) -> RecordContribution:
    """Split one Kinesis record's data into user records, decode and validate each."""
    contribution = RecordContribution(sequence_number)
    for user_record in split_user_records(data):
        try:
            readings = telemetry.to_readings(telemetry.decode(user_record.data))
            check_storable(readings)
        except InvalidTelemetry as exc:
            contribution.quarantined.append(
                Quarantined(
                    reason=exc.reason,
                    sequence_number=sequence_number,
                    sub_sequence_number=user_record.sub_sequence_number,
                    partition_key=user_record.partition_key or partition_key,
                    data=user_record.data,
                )
            )
        else:
            contribution.readings.extend(readings)
            contribution.aggregated += 1
    return contribution


def read_base64_record(
    sequence_number: str, data_b64: str, partition_key: str | None = None
) -> RecordContribution:
    """``read_record`` for the base64 ``kinesis.data`` of a Lambda event record."""
    try:
        data = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raw = data_b64.encode("utf-8", "replace") if isinstance(data_b64, str) else b""
        return RecordContribution(
            sequence_number,
            quarantined=[
                Quarantined("envelope: kinesis.data is not base64", sequence_number, None,
                            partition_key, raw)
            ],
        )
    return read_record(sequence_number, data, partition_key)


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


@dataclass(slots=True)
class InvocationTally:
    """Per-invocation counts, for the summary log line and the metrics."""

    records: int = 0
    user_records: int = 0
    aggregated: int = 0
    quarantined: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0


class InvocationFold:
    """Folds one invocation's Kinesis records, in order, into a ``WindowAggregate``."""

    def __init__(
        self, aggregate: WindowAggregate, fault_device_ids: frozenset[str] = frozenset()
    ) -> None:
        self.aggregate = aggregate
        self.tally = InvocationTally()
        self.first_failure: str | None = None
        self.fault_device_ids = fault_device_ids

    def apply(
        self, sequence_number: str, data_b64: str, partition_key: str | None = None
    ) -> RecordContribution | None:
        """Fold one record; None when it was already in the state.

        Raises ``RecordSkipped`` after an earlier failure of this invocation, and re-raises
        whatever a real failure raised; either way the record is not in the state.
        """
        self.tally.records += 1
        if self.first_failure is not None:
            self.tally.skipped += 1
            raise RecordSkipped(
                f"record {sequence_number} follows failed record {self.first_failure}; "
                "it will be re-delivered"
            )
        if self.aggregate.is_committed(sequence_number):
            self.tally.duplicates += 1
            return None
        try:
            contribution = read_base64_record(sequence_number, data_b64, partition_key)
            if self.fault_device_ids:
                self._inject_fault(contribution)
            self.aggregate.commit(contribution)
        except Exception:
            self.first_failure = sequence_number
            self.tally.failed += 1
            raise
        self.tally.user_records += contribution.aggregated + len(contribution.quarantined)
        self.tally.aggregated += contribution.aggregated
        self.tally.quarantined += len(contribution.quarantined)
        return contribution

    def _inject_fault(self, contribution: RecordContribution) -> None:
        for reading in contribution.readings:
            if reading.device_id in self.fault_device_ids:
                raise InjectedFault(
                    f"injected fault for device {reading.device_id} "
                    f"(FAULT_INJECT_DEVICE_IDS) at record {contribution.sequence_number}"
                )

    def flush_segment(self, invocation: WindowInvocation) -> str | None:
        """The SK segment for this flush, or None for a window flushed in one piece.

        A piece is followed by more of the same window when Lambda terminated the window
        early, or when records of this final invoke failed and will be re-delivered. A
        replayed failed batch always has its own segment (``replay-<first sequence>``).
        """
        if invocation.replay_segment:
            return invocation.replay_segment
        if invocation.terminated_early or self.first_failure is not None:
            return self.aggregate.first_sequence
        return None


__all__ = [
    "REPLAY_SEGMENT",
    "STATE_LIMIT_BYTES",
    "STATE_VERSION",
    "InjectedFault",
    "InvalidWindowEvent",
    "InvocationFold",
    "InvocationTally",
    "Quarantined",
    "RecordContribution",
    "RecordSkipped",
    "WindowAggregate",
    "WindowInvocation",
    "check_storable",
    "parse_aws_timestamp",
    "read_base64_record",
    "read_record",
    "state_size_bytes",
]
