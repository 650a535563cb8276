"""One Kinesis shard consumed for one event source mapping, with Lambda's semantics.

``ShardConsumer.step(now)`` does one unit of work — a poll, one invocation — and returns
when it next wants to run, so the same code serves the real-time engine (one thread per
shard) and a deterministic scheduler driving a virtual clock.

Rules implemented here (AWS-SEMANTICS.md): polling once a second per shard, BatchSize,
MaximumBatchingWindowInSeconds, StartingPosition, tumbling windows by arrival time with
state carried between invocations and a final invoke per window, isWindowTerminatedEarly
when state passes the cap, ReportBatchItemFailures (checkpoint before the lowest failed
sequence number; malformed responses fail the batch), BisectBatchOnFunctionError,
MaximumRetryAttempts, MaximumRecordAgeInSeconds and on-failure destinations. A failing
batch blocks its shard. On a retry the handler receives the state of the last successful
invocation of the window (AWS does not document this; shardline says so).
"""

from __future__ import annotations

import base64
import json
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shardline.local.functions import InvocationResult
from shardline.local.mappings import StreamMapping

log = logging.getLogger("shardline.engine")

GET_RECORDS_LIMIT = 10_000
POLL_INTERVAL_S = 1.0
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
WINDOW_STATE_CAP_BYTES = 1024 * 1024
RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True, slots=True)
class StreamRecord:
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float  # epoch seconds (ApproximateArrivalTimestamp)

    def event_record(self, shard_id: str, mapping: StreamMapping, role: str) -> dict[str, Any]:
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": self.partition_key,
                "sequenceNumber": self.sequence_number,
                "data": base64.b64encode(self.data).decode(),
                "approximateArrivalTimestamp": self.arrival,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{self.sequence_number}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": role,
            "awsRegion": mapping.region,
            "eventSourceARN": mapping.source_arn,
        }


@dataclass(frozen=True, slots=True)
class Invocation:
    """One entry of the invocation log (observability and tests)."""

    function: str
    mapping_uuid: str
    shard_id: str
    first_sequence: str | None
    last_sequence: str | None
    batch_size: int
    duration_ms: float
    outcome: str  # ok | partial | error
    error_type: str | None
    final_for_window: bool
    window_start: int | None
    at: float


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def window_iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Attempt:
    records: list[StreamRecord]
    attempts: int = 0  # failed attempts so far (retries consumed)
    invocations: int = 0
    not_before: float = 0.0


@dataclass
class ShardConsumer:
    """Delivers one shard to one function. Not thread-safe: one driver calls ``step``."""

    mapping: StreamMapping
    shard_id: str
    kinesis: Any
    invoke: Callable[[str, dict[str, Any]], InvocationResult]
    send_to_destination: Callable[[str, dict[str, Any]], None]
    record_invocation: Callable[[Invocation], None]
    function_role: str = ""
    state_cap_bytes: int = WINDOW_STATE_CAP_BYTES
    poll_interval_s: float = POLL_INTERVAL_S
    name: str = ""

    buffer: deque[StreamRecord] = field(default_factory=deque)
    checkpoint: str | None = None
    window_start: int | None = None
    window_state: dict[str, Any] = field(default_factory=dict)
    polls: int = 0
    last_poll_at: float = -math.inf
    last_poll_count: int = 0
    caught_up_at: float = -math.inf  # start of the last poll that reached the shard's tip
    invocations: int = 0
    errors: int = 0
    retries: int = 0
    _iterator: str | None = None
    _next_poll: float = 0.0
    _buffered_since: float | None = None
    _pending: deque[_Attempt] = field(default_factory=deque)
    _final_attempt: _Attempt | None = None

    def __post_init__(self) -> None:
        self.name = self.name or f"{self.mapping.uuid[:8]}/{self.shard_id}"

    # -- reading -----------------------------------------------------------------------
    def _shard_iterator(self) -> str:
        args: dict[str, Any] = {"StreamARN": self.mapping.source_arn, "ShardId": self.shard_id}
        if self.checkpoint is not None or self.buffer:
            last = self.buffer[-1].sequence_number if self.buffer else self.checkpoint
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=last)
        elif self.mapping.starting_position == "AT_TIMESTAMP":
            args.update(ShardIteratorType="AT_TIMESTAMP",
                        Timestamp=self.mapping.starting_position_timestamp)
        else:
            args.update(ShardIteratorType=self.mapping.starting_position or "TRIM_HORIZON")
        return self.kinesis.get_shard_iterator(**args)["ShardIterator"]

    def _poll(self, now: float) -> None:
        if self._iterator is None:
            self._iterator = self._shard_iterator()
        try:
            response = self.kinesis.get_records(
                ShardIterator=self._iterator, Limit=GET_RECORDS_LIMIT,
                StreamARN=self.mapping.source_arn,
            )
        except self.kinesis.exceptions.ExpiredIteratorException:
            self._iterator = self._shard_iterator()
            return
        self._iterator = response.get("NextShardIterator")
        records = response.get("Records", [])
        if response.get("MillisBehindLatest", 0) == 0 and len(records) < GET_RECORDS_LIMIT:
            self.caught_up_at = now
        for raw in records:
            self.buffer.append(StreamRecord(
                raw["SequenceNumber"], raw["PartitionKey"], bytes(raw["Data"]),
                raw["ApproximateArrivalTimestamp"].timestamp(),
            ))
        if records and self._buffered_since is None:
            self._buffered_since = now
        self.polls += 1
        self.last_poll_at = now
        self.last_poll_count = len(records)

    # -- scheduling --------------------------------------------------------------------
    @property
    def tumbling(self) -> bool:
        return self.mapping.tumbling_window_s > 0

    def _window_of(self, record: StreamRecord) -> int:
        size = self.mapping.tumbling_window_s
        return int(record.arrival // size * size)

    @property
    def idle(self) -> bool:
        """Nothing buffered, nothing pending, no open window, and the last poll was empty."""
        return (not self.buffer and not self._pending and self.window_start is None
                and self._final_attempt is None and self.last_poll_count == 0)

    def step(self, now: float) -> float:
        """Do what is due at ``now``; return the time of the next thing to do."""
        if now >= self._next_poll and len(self.buffer) < GET_RECORDS_LIMIT:
            self._poll(now)
            self._next_poll = now + self.poll_interval_s
        if self._final_attempt is not None or self._final_due(now):
            return self._run_final(now)
        if self._pending:
            return self._run_attempt(self._pending[0], now)
        batch, wake = self._ready_batch(now)
        if batch:
            self._pending.append(_Attempt(batch))
            return self._run_attempt(self._pending[0], now)
        return min(self._next_poll, wake)

    def _final_due(self, now: float) -> bool:
        if not self.tumbling or self.window_start is None:
            return False
        window_end = self.window_start + self.mapping.tumbling_window_s
        if self.buffer:
            # Records of a later window wait behind this window's final invoke.
            return self._window_of(self.buffer[0]) != self.window_start
        # Only a poll that started after the window ended has seen all of its records.
        return self.caught_up_at >= window_end

    def _ready_batch(self, now: float) -> tuple[list[StreamRecord], float]:
        if not self.buffer:
            self._buffered_since = None
            return [], math.inf
        limit = self.mapping.batch_size
        window = self._window_of(self.buffer[0]) if self.tumbling else None
        batch: list[StreamRecord] = []
        size = 0
        boundary = False
        for record in self.buffer:
            if window is not None and self._window_of(record) != window:
                boundary = True
                break
            size += len(record.data) * 4 // 3 + 512
            if len(batch) == limit or (batch and size > MAX_PAYLOAD_BYTES):
                boundary = True
                break
            batch.append(record)
        since = self._buffered_since if self._buffered_since is not None else now
        deadline = since + self.mapping.batching_window_s
        if window is not None:
            deadline = min(deadline, window + self.mapping.tumbling_window_s)
        if boundary or len(batch) >= limit or now >= deadline:
            return batch, now
        return [], deadline

    # -- invoking ----------------------------------------------------------------------
    def _event(self, records: list[StreamRecord], *, final: bool, early: bool) -> dict[str, Any]:
        event: dict[str, Any] = {
            "Records": [r.event_record(self.shard_id, self.mapping, self.function_role)
                        for r in records]
        }
        if self.tumbling:
            assert self.window_start is not None
            event.update(
                window={"start": window_iso(self.window_start),
                        "end": window_iso(self.window_start + self.mapping.tumbling_window_s)},
                state=self.window_state,
                shardId=self.shard_id,
                eventSourceARN=self.mapping.source_arn,
                isFinalInvokeForWindow=final,
                isWindowTerminatedEarly=early,
            )
        return event

    def _call(self, records: list[StreamRecord], now: float, *, final: bool = False,
              early: bool = False) -> InvocationResult:
        result = self.invoke(self.mapping.function_arn, self._event(records, final=final,
                                                                      early=early))
        self.invocations += 1
        outcome = "ok" if result.ok else "error"
        if not result.ok:
            self.errors += 1
        self.record_invocation(Invocation(
            function=self.mapping.function_arn, mapping_uuid=self.mapping.uuid,
            shard_id=self.shard_id,
            first_sequence=records[0].sequence_number if records else None,
            last_sequence=records[-1].sequence_number if records else None,
            batch_size=len(records), duration_ms=result.duration_ms, outcome=outcome,
            error_type=result.error_type, final_for_window=final,
            window_start=self.window_start, at=now,
        ))
        return result

    def _run_final(self, now: float) -> float:
        attempt = self._final_attempt or _Attempt([])
        if now < attempt.not_before:
            return attempt.not_before
        result = self._call([], now, final=True)
        if result.ok and _has_state(result.payload):
            self._final_attempt = None
            self.window_start = None
            self.window_state = {}
            return now
        # A failed final invocation halts the shard until it succeeds.
        attempt.attempts += 1
        attempt.not_before = now + _backoff(attempt.attempts)
        self._final_attempt = attempt
        self.retries += 1
        log.warning("final invoke failed; shard halted until it succeeds",
                    extra={"shard": self.shard_id, "error": result.error_type})
        return attempt.not_before

    def _run_attempt(self, attempt: _Attempt, now: float) -> float:
        if now < attempt.not_before:
            return attempt.not_before
        if self._expire_old_records(attempt, now):
            return now
        if self.tumbling:
            window = self._window_of(attempt.records[0])
            if self.window_start is None:
                self.window_start = window
        attempt.invocations += 1
        result = self._call(attempt.records, now)
        verdict = self._judge(result, attempt.records)
        if verdict.ok:
            self._commit(attempt.records, result.payload)
            self._pending.popleft()
            self._after_success(now)
            return now
        if verdict.first_failed is not None and verdict.first_failed > 0:
            done, rest = (attempt.records[: verdict.first_failed],
                          attempt.records[verdict.first_failed:])
            self._commit(done, result.payload)
            attempt.records = rest
        return self._retry_or_discard(attempt, result, verdict, now)

    def _after_success(self, now: float) -> None:
        if self.tumbling and len(json.dumps(self.window_state)) > self.state_cap_bytes:
            # The window ends early: one final invoke now, then a new window starts.
            result = self._call([], now, final=True, early=True)
            if result.ok:
                self.window_state = {}
                self.window_start = None

    def _retry_or_discard(self, attempt: _Attempt, result: InvocationResult,
                          verdict: _Verdict, now: float) -> float:
        if verdict.function_error and self.mapping.bisect and len(attempt.records) > 1:
            # Splitting does not consume the retry quota.
            half = len(attempt.records) // 2
            self._pending.popleft()
            self._pending.appendleft(_Attempt(attempt.records[half:], attempt.attempts))
            self._pending.appendleft(_Attempt(attempt.records[:half], attempt.attempts))
            return now
        attempt.attempts += 1
        limit = self.mapping.maximum_retry_attempts
        if limit != -1 and attempt.attempts > limit:
            self._discard(attempt, "RetryAttemptsExhausted", result, now)
            return now
        self.retries += 1
        attempt.not_before = now + _backoff(attempt.attempts)
        return attempt.not_before

    def _expire_old_records(self, attempt: _Attempt, now: float) -> bool:
        limit = self.mapping.maximum_record_age_s
        if limit == -1 or now - attempt.records[0].arrival <= limit:
            return False
        expired = [r for r in attempt.records if now - r.arrival > limit]
        kept = attempt.records[len(expired):]
        self._discard(_Attempt(expired, attempt.attempts, attempt.invocations),
                      "RecordAgeExceeded", None, now, pop=False)
        if kept:
            attempt.records = kept
        else:
            self._pending.popleft()
        return True

    def _discard(self, attempt: _Attempt, condition: str, result: InvocationResult | None,
                 now: float, *, pop: bool = True) -> None:
        records = attempt.records
        if self.mapping.on_failure_arn:
            self.send_to_destination(self.mapping.on_failure_arn, self._failure_record(
                records, condition, result, attempt.invocations, now))
        log.warning("records skipped after %s", condition,
                    extra={"shard": self.shard_id, "first": records[0].sequence_number,
                           "last": records[-1].sequence_number, "count": len(records)})
        self._drop(records)
        if pop:
            self._pending.popleft()

    def _failure_record(self, records: list[StreamRecord], condition: str,
                        result: InvocationResult | None, invocations: int,
                        now: float) -> dict[str, Any]:
        document: dict[str, Any] = {
            "requestContext": {
                "requestId": result.request_id if result else "",
                "functionArn": self.mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "version": "1.0",
            "timestamp": iso(now),
            "KinesisBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": records[0].sequence_number,
                "endSequenceNumber": records[-1].sequence_number,
                "approximateArrivalOfFirstRecord": iso(records[0].arrival),
                "approximateArrivalOfLastRecord": iso(records[-1].arrival),
                "batchSize": len(records),
                "streamArn": self.mapping.source_arn,
            },
        }
        if result is not None:
            document["responseContext"] = {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": result.function_error,
            }
        return document

    def _commit(self, records: list[StreamRecord], payload: Any) -> None:
        if self.tumbling and isinstance(payload, dict) and isinstance(payload.get("state"), dict):
            self.window_state = payload["state"]
        self._drop(records)

    def _drop(self, records: list[StreamRecord]) -> None:
        for _ in records:
            self.buffer.popleft()
        if records:
            self.checkpoint = records[-1].sequence_number
        if not self.buffer:
            self._buffered_since = None

    def _judge(self, result: InvocationResult, records: list[StreamRecord]) -> _Verdict:
        if not result.ok:
            return _Verdict(ok=False, function_error=True)
        payload = result.payload
        if self.tumbling and not _has_state(payload):
            return _Verdict(ok=False, function_error=True)
        if not self.mapping.report_batch_item_failures:
            return _Verdict(ok=True)
        failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
        if not failures:
            return _Verdict(ok=True)
        positions = {r.sequence_number: i for i, r in enumerate(records)}
        indices = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in positions:
                return _Verdict(ok=False, function_error=False, first_failed=0)
            indices.append(positions[identifier])
        return _Verdict(ok=False, function_error=False, first_failed=min(indices))


@dataclass(frozen=True, slots=True)
class _Verdict:
    ok: bool
    function_error: bool = False
    first_failed: int | None = None


def _has_state(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("state"), dict)


def _backoff(attempts: int) -> float:
    return RETRY_BACKOFF_S[min(attempts, len(RETRY_BACKOFF_S)) - 1]
