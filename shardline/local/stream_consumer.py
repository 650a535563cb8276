"""One stream shard consumed for one event source mapping, with Lambda's semantics.

The rules are the same for Kinesis (shared throughput or EFO) and DynamoDB Streams; only
reading differs, so a ``ShardConsumer`` drives a ``ShardReader`` (``kinesis_source``,
``dynamodb_source``). ``ShardConsumer.step(now)`` does one unit of work — a poll, one
invocation — and returns when it next wants to run, so the same code serves the
real-time engine (one thread per shard) and a deterministic scheduler driving a virtual
clock.

Rules implemented here (AWS-SEMANTICS.md): BatchSize, MaximumBatchingWindowInSeconds,
ParallelizationFactor, tumbling windows by arrival time with state carried between
invocations, one final invoke per window and an early termination when the state passes
the cap, ReportBatchItemFailures (checkpoint before the lowest failed sequence number;
malformed responses fail the whole batch), BisectBatchOnFunctionError,
MaximumRetryAttempts, MaximumRecordAgeInSeconds and on-failure destinations. A failing
batch blocks its shard (with ParallelizationFactor > 1: its partition-key lane).

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

import hashlib
import json
import logging
import math
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shardline.local.batch_response import Verdict, has_state, judge
from shardline.local.destinations import (
    batch_info,
    mapping_object_key,
    service_of,
    stream_failure_record,
    with_payload,
)
from shardline.local.event_filter import kept
from shardline.local.functions import InvocationResult
from shardline.local.mappings import StreamMapping
from shardline.local.poller_access import AccessProblem, denial_reason, mark_mapping
from shardline.local.stream_records import Invocation, ShardReader, StreamRecord

__all__ = ["MAX_PAYLOAD_BYTES", "WINDOW_STATE_CAP_BYTES", "Invocation", "ShardConsumer",
           "ShardReader", "StreamRecord", "partition_lane", "window_iso"]

log = logging.getLogger("shardline.engine")

POLL_INTERVAL_S = 1.0
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
WINDOW_STATE_CAP_BYTES = 1024 * 1024
RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
MAX_PARALLELIZATION = 10


def window_iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Attempt:
    """A batch on its way: invoked, retried, split, or skipped to the destination."""

    records: list[StreamRecord]
    attempts: int = 0  # failed attempts so far (retries consumed)
    invocations: int = 0
    not_before: float = 0.0
    last_result: InvocationResult | None = None
    early: bool = False  # a window-closing invocation for a state past the cap


@dataclass
class _Lane:
    """A sub-queue of the shard (all of it unless ParallelizationFactor > 1).

    Records of one partition key always land in the same lane, so they stay in order;
    each lane has its own batching, retries and tumbling window.
    """

    buffer: deque[StreamRecord] = field(default_factory=deque)
    pending: deque[_Attempt] = field(default_factory=deque)
    buffered_since: float | None = None
    window_start: int | None = None
    window_state: dict[str, Any] = field(default_factory=dict)
    closing: _Attempt | None = None  # the window-closing invocation, until it succeeds

    @property
    def busy(self) -> bool:
        return bool(self.pending) or self.closing is not None


@dataclass(frozen=True, slots=True)
class _Work:
    lane: _Lane
    attempt: _Attempt
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
    lanes: list[_Lane] = field(default_factory=lambda: [_Lane()])
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
        for work, result in zip(works, self._invoke_all(works), strict=True):
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
        count = len(self.lanes)
        keep = kept(self.mapping.filter_patterns, self.mapping.service,
                    (r.event for r in records))
        for record, wanted in zip(records, keep, strict=True):
            self._unfinished.append(record)
            if not wanted:
                self._finish([record])  # filtered out: done, the checkpoint moves past it
                continue
            lane = self.lanes[partition_lane(record.partition_key, count)]
            lane.buffer.append(record)
            if lane.buffered_since is None:
                lane.buffered_since = now
        if at_tip:
            self.caught_up_at = now
        self.polls += 1
        self.last_poll_at = now
        self.last_poll_count = len(records)

    def _reshape_lanes(self) -> None:
        """Apply a changed ParallelizationFactor once no lane has a batch in flight, so
        a partition key never has batches in two lanes at once."""
        wanted = self.parallelization
        if wanted == len(self.lanes) or any(lane.busy for lane in self.lanes):
            return
        records = sorted((r for lane in self.lanes for r in lane.buffer),
                         key=lambda r: r.position)
        since = [lane.buffered_since for lane in self.lanes if lane.buffered_since is not None]
        old = self.lanes[0]
        self.lanes = [_Lane() for _ in range(wanted)]
        self.lanes[0].window_start, self.lanes[0].window_state = old.window_start, old.window_state
        for record in records:
            lane = self.lanes[partition_lane(record.partition_key, wanted)]
            lane.buffer.append(record)
            lane.buffered_since = min(since) if since else None
        self._turn = 0

    # -- choosing the next invocation of a lane ----------------------------------------
    def _window_of(self, record: StreamRecord) -> int:
        size = self.mapping.tumbling_window_s
        return int(record.arrival // size * size)

    def _window_over(self, lane: _Lane) -> bool:
        """Every record of the lane's open window is done and no more can arrive."""
        if not self.tumbling or lane.window_start is None or lane.busy:
            return False
        if lane.buffer:
            # Records of a later window wait behind this window's final invoke.
            return self._window_of(lane.buffer[0]) != lane.window_start
        # Only a poll that started after the window ended has seen all of its records;
        # a shard that ended (resharded) closes its window: its children start afresh.
        return (self.reader.ended
                or self.caught_up_at >= lane.window_start + self.mapping.tumbling_window_s)

    def _prepare(self, lane: _Lane, now: float) -> _Work | float:
        """The invocation this lane wants at ``now``, or the time it next wants one."""
        if lane.closing is None and self._window_over(lane):
            lane.closing = _Attempt([])
        if lane.closing is not None:
            if now < lane.closing.not_before:
                return lane.closing.not_before
            return _Work(lane, lane.closing, True,
                         self._event(lane, [], final=not lane.closing.early,
                                     early=lane.closing.early))
        while True:
            if not lane.pending:
                batch, wake = self._ready_batch(lane, now)
                if not batch:
                    return wake
                lane.pending.append(_Attempt(batch))
            attempt = lane.pending[0]
            if now < attempt.not_before:
                return attempt.not_before
            if not self._expire_old_records(lane, attempt, now):
                break
        if self.tumbling and lane.window_start is None:
            lane.window_start = self._window_of(attempt.records[0])
        return _Work(lane, attempt, False, self._event(lane, attempt.records))

    def _ready_batch(self, lane: _Lane, now: float) -> tuple[list[StreamRecord], float]:
        """Take the next batch off the lane's buffer if it is due (full, at a window
        boundary, or its batching window has passed); else say when it will be."""
        if not lane.buffer:
            lane.buffered_since = None
            return [], math.inf
        limit = self.mapping.batch_size
        window = self._window_of(lane.buffer[0]) if self.tumbling else None
        batch: list[StreamRecord] = []
        size = 0
        boundary = False
        for record in lane.buffer:
            if (len(batch) == limit
                    or (window is not None and self._window_of(record) != window)
                    or (batch and size + record.size > MAX_PAYLOAD_BYTES)):
                boundary = True
                break
            batch.append(record)
            size += record.size
        since = lane.buffered_since if lane.buffered_since is not None else now
        deadline = since + self.mapping.batching_window_s
        if window is not None:
            deadline = min(deadline, window + self.mapping.tumbling_window_s)
        if not (boundary or len(batch) >= limit or now >= deadline):
            return [], deadline
        for _ in batch:
            lane.buffer.popleft()
        if not lane.buffer:
            lane.buffered_since = None
        return batch, now

    def _expire_old_records(self, lane: _Lane, attempt: _Attempt, now: float) -> bool:
        """Skip the attempt's records older than MaximumRecordAgeInSeconds; True when
        none is left."""
        limit = self.mapping.maximum_record_age_s
        if limit == -1:
            return False
        expired = 0
        while expired < len(attempt.records) and now - attempt.records[expired].arrival > limit:
            expired += 1
        if expired == 0:
            return False
        self._skip(attempt.records[:expired], "RecordAgeExceeded", attempt, now)
        attempt.records = attempt.records[expired:]
        if attempt.records:
            return False
        lane.pending.popleft()
        return True

    # -- invoking ----------------------------------------------------------------------
    def _event(self, lane: _Lane, records: list[StreamRecord], *, final: bool = False,
               early: bool = False) -> dict[str, Any]:
        event: dict[str, Any] = {"Records": [r.event for r in records]}
        if self.tumbling:
            start = lane.window_start
            if start is None:
                start = self._window_of(records[0])
            event.update(
                window={"start": window_iso(start),
                        "end": window_iso(start + self.mapping.tumbling_window_s)},
                state=lane.window_state,
                shardId=self.shard_id,
                eventSourceARN=self.reader.stream_arn,
                isFinalInvokeForWindow=final,
                isWindowTerminatedEarly=early,
            )
        return event

    def _invoke_all(self, works: list[_Work]) -> list[InvocationResult]:
        function = self.mapping.function_arn
        if len(works) == 1:
            return [self.invoke(function, works[0].event)]
        results: list[InvocationResult | BaseException | None] = [None] * len(works)

        def run(index: int) -> None:
            try:
                results[index] = self.invoke(function, works[index].event)
            except BaseException as exc:  # re-raised on the driver's thread
                results[index] = exc

        threads = [threading.Thread(target=run, args=(i,), name=f"{self.name}-lane")
                   for i in range(len(works))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [r for r in results if isinstance(r, InvocationResult)]

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
            if self.tumbling and _state_bytes(lane.window_state) > self.state_cap_bytes:
                lane.closing = _Attempt([], early=True)
            return
        self.errors += 1
        if verdict.first_failed > 0:
            done = attempt.records[: verdict.first_failed]
            attempt.records = attempt.records[verdict.first_failed:]
            self._commit(lane, done, result.payload)
            self._start_afresh(attempt, now)
            return
        self._retry_or_skip(lane, attempt, verdict, now)

    def _apply_closing(self, lane: _Lane, attempt: _Attempt, result: InvocationResult,
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
        attempt.attempts += 1
        attempt.not_before = now + _backoff(attempt.attempts)
        log.warning("window-closing invoke failed; shard halted until it succeeds",
                    extra={"shard": self.shard_id, "error": result.error_type})

    def _log(self, lane: _Lane, records: list[StreamRecord], result: InvocationResult,
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

    def _retry_or_skip(self, lane: _Lane, attempt: _Attempt, verdict: Verdict,
                       now: float) -> None:
        if verdict.function_error and self.mapping.bisect and len(attempt.records) > 1:
            # Splitting does not consume the retry quota.
            half = len(attempt.records) // 2
            lane.pending.popleft()
            lane.pending.appendleft(_Attempt(attempt.records[half:], attempt.attempts))
            lane.pending.appendleft(_Attempt(attempt.records[:half], attempt.attempts))
            return
        attempt.attempts += 1
        limit = self.mapping.maximum_retry_attempts
        if limit != -1 and attempt.attempts > limit:
            lane.pending.popleft()
            self._skip(attempt.records, "RetryAttemptsExhausted", attempt, now)
            return
        self.retries += 1
        attempt.not_before = now + _backoff(attempt.attempts)

    def _start_afresh(self, attempt: _Attempt, now: float) -> None:
        """A partial batch response that checkpointed records made progress: the rest of
        the batch starts its retry count (and its approximateInvokeCount) afresh, as
        recorded on AWS. With MaximumRetryAttempts N a record every invocation reports
        failed is delivered N + 2 times: in the batch that partly succeeded, then 1 + N."""
        attempt.attempts = 0
        attempt.invocations = 0
        self.retries += 1
        attempt.not_before = now + RETRY_BACKOFF_S[0]

    # -- checkpointing -----------------------------------------------------------------
    def _commit(self, lane: _Lane, records: list[StreamRecord], payload: Any) -> None:
        if self.tumbling and has_state(payload):
            lane.window_state = payload["state"]
        self._finish(records)

    def _skip(self, records: list[StreamRecord], condition: str, attempt: _Attempt,
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
                             condition: str, attempt: _Attempt, now: float) -> None:
        """The on-failure record (``destinations``); an S3 bucket also gets the event of
        the skipped records as the function receives them. The records are skipped
        whether or not the record arrives, as Lambda does."""
        result = attempt.last_result
        document = stream_failure_record(
            request_id=result.request_id if result else str(uuid.uuid4()),
            function_arn=self.mapping.function_arn, condition=condition,
            invoke_count=attempt.invocations,
            function_error=result.function_error if result else None,
            invoked=result is not None, now=now, batch_info_key=self.reader.batch_info_key,
            info=batch_info(self.reader.batch_info_key, shard_id=self.shard_id,
                            stream_arn=self.reader.stream_arn,
                            first=(records[0].sequence_number, records[0].arrival),
                            last=(records[-1].sequence_number, records[-1].arrival),
                            size=len(records)),
            executed_version=result.executed_version if result else "$LATEST")
        try:
            if service_of(destination) == "s3":
                lane = self.lanes[partition_lane(records[0].partition_key, len(self.lanes))]
                self.send_to_destination(
                    destination, with_payload(document, self._event(lane, records)),
                    object_key=mapping_object_key(self.mapping.uuid, self.shard_id, now))
            else:
                self.send_to_destination(destination, document)
        except Exception:
            log.exception("could not deliver an on-failure record to %s", destination)


def partition_lane(partition_key: str, lanes: int) -> int:
    """The lane (ParallelizationFactor sub-queue) of a partition key: MD5 modulo lanes."""
    if lanes == 1:
        return 0
    digest = hashlib.md5(partition_key.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % lanes


def _state_bytes(state: dict[str, Any]) -> int:
    return len(json.dumps(state, separators=(",", ":")).encode())


def _backoff(attempts: int) -> float:
    return RETRY_BACKOFF_S[min(attempts, len(RETRY_BACKOFF_S)) - 1]
