"""One stream shard consumed for one event source mapping, with Lambda's semantics.

The rules are the same for Kinesis (shared throughput or EFO) and DynamoDB Streams; only
reading differs, so a ``ShardConsumer`` drives a ``ShardReader`` (``kinesis_source``,
``dynamodb_source``). ``ShardConsumer.step(now)`` does one unit of work — a poll, one
invocation — and returns when it next wants to run, so the same code serves the
real-time engine (one thread per shard) and a deterministic scheduler driving a virtual
clock.

Rules implemented here (AWS-SEMANTICS.md): BatchSize, MaximumBatchingWindowInSeconds
(``stream_batching``), ParallelizationFactor (``stream_lanes``), tumbling windows by
arrival time with state carried between invocations, one final invoke per window and an
early termination when the state passes the cap (``tumbling_windows``),
ReportBatchItemFailures (checkpoint before the lowest failed sequence number; malformed
responses fail the whole batch), BisectBatchOnFunctionError, MaximumRetryAttempts
(``stream_retries``), MaximumRecordAgeInSeconds and on-failure destinations
(``stream_failure_records``). A failing batch blocks its shard (with
ParallelizationFactor > 1: its partition-key lane).

Where AWS leaves the behaviour open, shardline chooses and says so:

* a retried invocation of a window receives the state returned by the last invocation
  Lambda accepted a state from (a success, or a partial-batch response that carries
  ``state``: the handler's state is expected to leave out the records it reports failed);
* a partial-batch failure (or a malformed partial-batch response, or a missing ``state``
  in a window) fails without a function error: the batch is not bisected and the retry
  starts at the lowest failed record. When records before it were checkpointed (progress)
  the rest starts its retry count and approximateInvokeCount afresh (recorded on AWS);
  otherwise the attempt counts against MaximumRetryAttempts. The first invocation after
  progress waits the first retry delay;
* when the state passes the cap the window is terminated early: one extra invocation with
  no records, the oversized state and ``isWindowTerminatedEarly`` (``isFinalInvokeForWindow``
  stays false — it is true once per window), then the same window continues with ``{}``;
* records that expire before they were ever invoked go to the destination as one record
  per batch, without ``responseContext``, with ``approximateInvokeCount`` 0 and a
  ``requestId`` of their own (no invocation had one);
* with ParallelizationFactor > 1 a changed factor takes effect once no lane has a batch
  in flight.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.batch_response import Verdict, has_state, judge
from shardline.local.event_filter import kept
from shardline.local.functions import InvocationResult
from shardline.local.mappings import StreamMapping
from shardline.local.poller_access import AccessProblem, denial_reason, mark_mapping
from shardline.local.stream_batching import expired_count, take_ready_batch
from shardline.local.stream_failure_records import failure_document, send_failure_document
from shardline.local.stream_lanes import (
    MAX_PARALLELIZATION,
    Attempt,
    Lane,
    invoke_lanes,
    partition_lane,
    reshaped,
)
from shardline.local.stream_records import Invocation, ShardReader, StreamRecord
from shardline.local.stream_retries import (
    retry_later,
    split_in_halves,
    start_afresh,
)
from shardline.local.tumbling_windows import (
    WINDOW_STATE_CAP_BYTES,
    state_bytes,
    window_fields,
    window_of,
    window_over,
)

__all__ = ["Invocation", "ShardConsumer", "ShardReader", "StreamRecord"]

log = logging.getLogger("shardline.engine")

POLL_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class _Work:
    lane: Lane
    attempt: Attempt
    closing: bool
    event: dict[str, Any]


@dataclass
class ShardConsumer:
    """Delivers one shard to one function. Not thread-safe: one driver calls ``step``.

    ``concurrent_lanes``: with ParallelizationFactor > 1, invoke the due batches of
    several lanes at once (real time); otherwise lanes take turns, one invocation per
    step (deterministic runs).
    """

    mapping: StreamMapping
    shard_id: str
    reader: ShardReader
    invoke: Callable[[str, dict[str, Any]], InvocationResult]
    send_to_destination: Callable[..., None]  # (arn, document, *, object_key=None)
    record_invocation: Callable[[Invocation], None]
    state_cap_bytes: int = WINDOW_STATE_CAP_BYTES
    poll_interval_s: float = POLL_INTERVAL_S
    concurrent_lanes: bool = False
    checkpoint: str | None = None  # every record up to this one is done
    name: str = ""

    polls: int = 0
    last_poll_at: float = -math.inf
    last_poll_count: int = 0
    caught_up_at: float = -math.inf  # start of the last poll that reached the shard's tip
    invocations: int = 0
    errors: int = 0
    retries: int = 0
    access: AccessProblem = field(default_factory=AccessProblem)  # role denied its source
    lanes: list[Lane] = field(default_factory=lambda: [Lane()])
    _unfinished: deque[StreamRecord] = field(default_factory=deque)
    _finished: set[int] = field(default_factory=set)
    _next_poll: float = 0.0
    _turn: int = 0

    def __post_init__(self) -> None:
        self.name = self.name or f"{self.mapping.uuid[:8]}/{self.shard_id}"

    # -- observation -------------------------------------------------------------------
    @property
    def buffer(self) -> list[StreamRecord]:
        """Records read and not yet done (invoked successfully or skipped), oldest first.
        Safe to call from another thread (the status writer)."""
        unfinished, finished = list(self._unfinished), set(self._finished)
        return [r for r in unfinished if r.position not in finished]

    @property
    def window_start(self) -> int | None:
        return self.lanes[0].window_start if self.tumbling else None

    @property
    def window_state(self) -> dict[str, Any]:
        return self.lanes[0].window_state

    @property
    def idle(self) -> bool:
        """Nothing buffered, nothing pending, no open window, and the last poll was empty."""
        return (not self._unfinished and self.last_poll_count == 0
                and all(not lane.busy and lane.window_start is None for lane in self.lanes))

    @property
    def tumbling(self) -> bool:
        return self.mapping.tumbling_window_s > 0

    @property
    def parallelization(self) -> int:
        """Lanes wanted: ParallelizationFactor, or 1 with a tumbling window (AWS rejects
        the combination when the mapping is created)."""
        if self.tumbling:
            return 1
        return max(1, min(MAX_PARALLELIZATION, self.mapping.parallelization_factor))

    # -- the driver's entry point --------------------------------------------------------
    def step(self, now: float) -> float:
        """Do what is due at ``now``; return the time of the next thing to do."""
        self._reshape_lanes()
        if now >= self._next_poll:
            if len(self._unfinished) < self.reader.limit:
                self._poll(now)
            self._next_poll = now + min(self.poll_interval_s, self.reader.poll_interval_s)
        works: list[_Work] = []
        wake = self._next_poll
        count, first = len(self.lanes), self._turn
        for offset in range(count):
            index = (first + offset) % count
            prepared = self._prepare(self.lanes[index], now)
            if isinstance(prepared, _Work):
                works.append(prepared)
                self._turn = (index + 1) % count  # lanes take turns
                if not self.concurrent_lanes:
                    break
            else:
                wake = min(wake, prepared)
        if not works:
            return wake
        results = invoke_lanes(self.invoke, self.mapping.function_arn,
                               [work.event for work in works], f"{self.name}-lane")
        for work, result in zip(works, results, strict=True):
            self._apply(work, result, now)
        return now

    # -- reading -----------------------------------------------------------------------
    def _poll(self, now: float) -> None:
        try:
            records, at_tip = self.reader.read()
        except Exception as exc:
            reason = denial_reason(exc)
            if reason is None:
                raise
            self.access.denied(f"mapping {self.mapping.uuid} shard {self.shard_id}", reason)
            mark_mapping(self.mapping.uuid, self.mapping.account, self.mapping.region,
                         self.access)
            return
        if self.access.reason is not None:
            self.access.cleared(f"mapping {self.mapping.uuid} shard {self.shard_id}")
            mark_mapping(self.mapping.uuid, self.mapping.account, self.mapping.region,
                         self.access)
        keep = kept(self.mapping.filter_patterns, self.mapping.service,
                    (r.event for r in records))
        for record, wanted in zip(records, keep, strict=True):
            self._unfinished.append(record)
            if not wanted:
                self._finish([record])  # filtered out: done, the checkpoint moves past it
                continue
            lane = self._lane_of(record)
            lane.buffer.append(record)
            if lane.buffered_since is None:
                lane.buffered_since = now
        if at_tip:
            self.caught_up_at = now
        self.polls += 1
        self.last_poll_at = now
        self.last_poll_count = len(records)

    def _lane_of(self, record: StreamRecord) -> Lane:
        return self.lanes[partition_lane(record.partition_key, len(self.lanes))]

    def _reshape_lanes(self) -> None:
        """Apply a changed ParallelizationFactor once no lane has a batch in flight, so
        a partition key never has batches in two lanes at once."""
        wanted = self.parallelization
        if wanted == len(self.lanes) or any(lane.busy for lane in self.lanes):
            return
        self.lanes = reshaped(self.lanes, wanted)
        self._turn = 0

    # -- choosing the next invocation of a lane ----------------------------------------
    def _prepare(self, lane: Lane, now: float) -> _Work | float:
        """The invocation this lane wants at ``now``, or the time it next wants one."""
        if lane.closing is None and window_over(
                lane, self.mapping.tumbling_window_s, shard_ended=self.reader.ended,
                caught_up_at=self.caught_up_at):
            lane.closing = Attempt([])
        if lane.closing is not None:
            if now < lane.closing.not_before:
                return lane.closing.not_before
            return _Work(lane, lane.closing, True,
                         self._event(lane, [], final=not lane.closing.early,
                                     early=lane.closing.early))
        while True:
            if not lane.pending:
                batch, wake = take_ready_batch(
                    lane, now, batch_size=self.mapping.batch_size,
                    batching_window_s=self.mapping.batching_window_s,
                    tumbling_window_s=self.mapping.tumbling_window_s)
                if not batch:
                    return wake
                lane.pending.append(Attempt(batch))
            attempt = lane.pending[0]
            if now < attempt.not_before:
                return attempt.not_before
            if not self._expire_old_records(lane, attempt, now):
                break
        if self.tumbling and lane.window_start is None:
            lane.window_start = window_of(attempt.records[0], self.mapping.tumbling_window_s)
        return _Work(lane, attempt, False, self._event(lane, attempt.records))

    def _expire_old_records(self, lane: Lane, attempt: Attempt, now: float) -> bool:
        """Skip the attempt's records older than MaximumRecordAgeInSeconds; True when
        none is left."""
        expired = expired_count(attempt.records, now, self.mapping.maximum_record_age_s)
        if expired == 0:
            return False
        self._skip(attempt.records[:expired], "RecordAgeExceeded", attempt, now)
        attempt.records = attempt.records[expired:]
        if attempt.records:
            return False
        lane.pending.popleft()
        return True

    # -- invoking ----------------------------------------------------------------------
    def _event(self, lane: Lane, records: list[StreamRecord], *, final: bool = False,
               early: bool = False) -> dict[str, Any]:
        event: dict[str, Any] = {"Records": [r.event for r in records]}
        if self.tumbling:
            start = lane.window_start
            if start is None:
                start = window_of(records[0], self.mapping.tumbling_window_s)
            event.update(window_fields(
                start, self.mapping.tumbling_window_s, lane.window_state,
                shard_id=self.shard_id, stream_arn=self.reader.stream_arn,
                final=final, early=early))
        return event

    def _apply(self, work: _Work, result: InvocationResult, now: float) -> None:
        lane, attempt = work.lane, work.attempt
        attempt.invocations += 1
        attempt.last_result = result
        self.invocations += 1
        if work.closing:
            self._apply_closing(lane, attempt, result, now)
            return
        verdict = judge(result.ok, result.payload,
                        [r.sequence_number for r in attempt.records],
                        tumbling=self.tumbling,
                        report_batch_item_failures=self.mapping.report_batch_item_failures)
        outcome = "ok" if verdict.ok else "error" if verdict.first_failed == 0 else "partial"
        self._log(lane, attempt.records, result, outcome, now)
        if verdict.ok:
            lane.pending.popleft()
            self._commit(lane, attempt.records, result.payload)
            if self.tumbling and state_bytes(lane.window_state) > self.state_cap_bytes:
                lane.closing = Attempt([], early=True)
            return
        self.errors += 1
        if verdict.first_failed > 0:
            done = attempt.records[: verdict.first_failed]
            attempt.records = attempt.records[verdict.first_failed:]
            self._commit(lane, done, result.payload)
            start_afresh(attempt, now)
            self.retries += 1
            return
        self._retry_or_skip(lane, attempt, verdict, now)

    def _apply_closing(self, lane: Lane, attempt: Attempt, result: InvocationResult,
                       now: float) -> None:
        ok = result.ok and has_state(result.payload)
        self._log(lane, [], result, "ok" if ok else "error", now, final=not attempt.early)
        if ok:
            lane.closing = None
            lane.window_state = {}
            if not attempt.early:
                lane.window_start = None
            return
        # A failed window-closing invocation halts the lane until it succeeds.
        self.errors += 1
        self.retries += 1
        retry_later(attempt, now)
        log.warning("window-closing invoke failed; shard halted until it succeeds",
                    extra={"shard": self.shard_id, "error": result.error_type})

    def _log(self, lane: Lane, records: list[StreamRecord], result: InvocationResult,
             outcome: str, now: float, *, final: bool = False) -> None:
        self.record_invocation(Invocation(
            function=self.mapping.function_arn, mapping_uuid=self.mapping.uuid,
            shard_id=self.shard_id,
            first_sequence=records[0].sequence_number if records else None,
            last_sequence=records[-1].sequence_number if records else None,
            batch_size=len(records), duration_ms=result.duration_ms, outcome=outcome,
            error_type=result.error_type, final_for_window=final,
            window_start=lane.window_start, at=now,
            iterator_age_ms=max(0.0, (now - records[-1].arrival) * 1000 - result.duration_ms)
            if records else None,
        ))

    def _retry_or_skip(self, lane: Lane, attempt: Attempt, verdict: Verdict,
                       now: float) -> None:
        if verdict.function_error and self.mapping.bisect and len(attempt.records) > 1:
            split_in_halves(lane, attempt)
            return
        if not retry_later(attempt, now, self.mapping.maximum_retry_attempts):
            lane.pending.popleft()
            self._skip(attempt.records, "RetryAttemptsExhausted", attempt, now)
            return
        self.retries += 1

    # -- checkpointing -----------------------------------------------------------------
    def _commit(self, lane: Lane, records: list[StreamRecord], payload: Any) -> None:
        if self.tumbling and has_state(payload):
            lane.window_state = payload["state"]
        self._finish(records)

    def _skip(self, records: list[StreamRecord], condition: str, attempt: Attempt,
              now: float) -> None:
        destination = self.mapping.on_failure_arn
        if destination:
            self._send_failure_record(destination, records, condition, attempt, now)
        log.warning("records skipped after %s", condition,
                    extra={"shard": self.shard_id, "first": records[0].sequence_number,
                           "last": records[-1].sequence_number, "count": len(records)})
        self._finish(records)

    def _finish(self, records: list[StreamRecord]) -> None:
        """Mark records done; the checkpoint moves over every done record that has no
        unfinished record before it (other lanes may still hold older ones)."""
        self._finished.update(r.position for r in records)
        while self._unfinished and self._unfinished[0].position in self._finished:
            record = self._unfinished.popleft()
            self._finished.discard(record.position)
            self.checkpoint = record.sequence_number

    def _send_failure_record(self, destination: str, records: list[StreamRecord],
                             condition: str, attempt: Attempt, now: float) -> None:
        document = failure_document(self.mapping, self.reader, self.shard_id, records,
                                    condition, attempt, now)
        send_failure_document(self.send_to_destination, destination, document,
                              lambda: self._event(self._lane_of(records[0]), records),
                              mapping_uuid=self.mapping.uuid, shard_id=self.shard_id, now=now)
