"""One SQS queue consumed for one event source mapping, with Lambda's semantics.

``SqsConsumer.step(now)`` does one unit of work — release what is due, poll, invoke the
ready batches — and returns when it next wants to run, so the same code serves the
real-time engine (a thread per mapping) and the deterministic driver (virtual clock).

Rules implemented here and in the ``sqs_*`` modules it uses (AWS-SEMANTICS.md, Lambda's
SQS guide):

* ReceiveMessage returns at most 10 messages, so a batch is filled by repeated calls up to
  BatchSize (1 to 10,000, default 10) and the 6 MB invocation payload. With
  MaximumBatchingWindowInSeconds the batch gathers, polled once a second, until it is
  full or the window (opened by its first message) ends; without a window, a batch is
  what the queue holds at that moment. AWS requires a window of at least 1 s for a
  BatchSize above 10 and supports no window on FIFO queues; moto accepts both, so the
  consumer fills such batches without waiting and ignores a FIFO window (with a warning).
* Success deletes the batch. A function error deletes nothing and changes no visibility:
  every message comes back when the queue's visibility timeout, started by the receive,
  runs out, with ApproximateReceiveCount one higher.
* ReportBatchItemFailures: the reported messageIds stay, the rest are deleted. No
  response, an empty or null ``batchItemFailures`` = success; a null or empty
  itemIdentifier, a wrong key or a messageId not in the batch fails the whole batch.
* The queue's RedrivePolicy is applied by moto itself: a ReceiveMessage that meets a
  message already received maxReceiveCount times moves it to the dead-letter queue
  instead of returning it (moto.sqs.models.SQSBackend.receive_message), as SQS does.
* FIFO ordering and group blocking are also moto's: a receive returns a group's messages
  in order and nothing more of a group while one of its messages is in flight, so a
  failed message holds back the rest of its group until it succeeds or is redriven.
* ScalingConfig.MaximumConcurrency N lets up to N batches (at most 10) run at once; when
  it is not set the local runtime runs one batch at a time per mapping (AWS scales
  pollers elastically and promises no concurrency level).

Visibility on a virtual clock: moto times visibility on the real clock, in whole
seconds. A consumer with ``virtual_visibility`` (the deterministic driver) receives with a
long real-time hold (``sqs_queue.VIRTUAL_HOLD_S``) and, when the queue's VisibilityTimeout has
passed on *its* clock, makes the messages visible again with ChangeMessageVisibility 0.
Messages therefore reappear exactly at ``receive time + VisibilityTimeout`` of virtual
time, never earlier, and moto still counts receives, redrives and blocks FIFO groups.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.event_filter import kept
from shardline.local.functions import InvocationResult
from shardline.local.poller_access import (
    DENIED_RETRY_S,
    AccessProblem,
    denial_reason,
    mark_mapping,
)
from shardline.local.sqs_batch_response import judge
from shardline.local.sqs_mapping import SqsMapping
from shardline.local.sqs_queue import RECEIVE_LIMIT, SqsQueue
from shardline.local.sqs_records import QueueMessage, SqsInvocation, record_bytes

log = logging.getLogger("shardline.engine")

POLL_INTERVAL_S = 1.0
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# On the real clock moto starts the timeout a moment after the poll began: look again
# just after it has run out rather than a poll interval later.
REAL_VISIBILITY_MARGIN_S = 0.1


@dataclass
class SqsConsumer:
    """Delivers one queue to one function. Not thread-safe: one driver calls ``step``."""

    mapping: SqsMapping
    sqs: Any
    invoke: Callable[[str, dict[str, Any]], InvocationResult]
    record_invocation: Callable[[SqsInvocation], None]
    poll_interval_s: float = POLL_INTERVAL_S
    virtual_visibility: bool = False
    name: str = ""

    polls: int = 0
    last_poll_at: float = -math.inf
    last_poll_count: int = 0
    invocations: int = 0
    errors: int = 0  # invocations whose messages were not all deleted
    retries: int = 0  # messages left in the queue for another attempt
    _queue: SqsQueue = field(init=False)
    _gathered: list[QueueMessage] = field(default_factory=list)
    _gathered_bytes: int = 0
    _gathering_since: float | None = None
    _in_flight: dict[str, QueueMessage] = field(default_factory=dict)
    _next_poll: float = 0.0
    _warned: set[str] = field(default_factory=set)
    access: AccessProblem = field(default_factory=AccessProblem)  # role denied the queue

    def __post_init__(self) -> None:
        self.name = self.name or f"{self.mapping.uuid[:8]}/{self.mapping.queue_name}"
        self._queue = SqsQueue(self.sqs, self.mapping, self.virtual_visibility)

    # -- observation -------------------------------------------------------------------
    @property
    def checkpoint(self) -> None:
        """Queues have no position to resume from: what is not deleted stays queued."""
        return None

    @property
    def buffer(self) -> list[QueueMessage]:
        """Messages received and waiting for their batch to be invoked."""
        return list(self._gathered)

    @property
    def in_flight(self) -> list[QueueMessage]:
        """Failed messages waiting for their visibility timeout to run out."""
        return list(self._in_flight.values())

    @property
    def idle(self) -> bool:
        """Nothing gathered, nothing waiting to reappear, and the last poll was empty."""
        return not self._gathered and not self._in_flight and self.last_poll_count == 0

    # -- the component -----------------------------------------------------------------
    def step(self, now: float) -> float:
        """Do what is due at ``now``; return the time of the next thing to do."""
        try:
            if self._release_expired(now) or now >= self._next_poll:
                self._fill(now)
            batches = self._ready_batches(now)
            if batches:
                self._run(batches, now)
                # The queue had messages: poll again at once, as Lambda's pollers do.
                self._next_poll = now
                return now
        except self.sqs.exceptions.QueueDoesNotExist:
            log.warning("queue %s does not exist; polling again later",
                        self.mapping.source_arn)
            self._queue.forget_url()
            self._gathered, self._gathered_bytes, self._gathering_since = [], 0, None
            self._in_flight.clear()
            self._next_poll = now + self.poll_interval_s
        except Exception as exc:
            reason = denial_reason(exc)
            if reason is None:
                raise
            self.access.denied(f"mapping {self.mapping.uuid} ({self.mapping.source_arn})",
                               reason)
            mark_mapping(self.mapping.uuid, self.mapping.account, self.mapping.region,
                         self.access)
            self._next_poll = now + DENIED_RETRY_S
            return self._next_poll
        if self.access.reason is not None:
            self.access.cleared(f"mapping {self.mapping.uuid}")
            mark_mapping(self.mapping.uuid, self.mapping.account, self.mapping.region,
                         self.access)
        return self._next_wake()

    def _next_wake(self) -> float:
        wake = self._next_poll
        if self._gathering_since is not None:
            wake = min(wake, self._gathering_since + self._window_s())
        if self._in_flight:
            wake = min(wake, min(m.visible_again_at for m in self._in_flight.values()))
        return wake

    # -- receiving ---------------------------------------------------------------------
    def _window_s(self) -> float:
        if self.mapping.fifo and self.mapping.batching_window_s > 0:
            self._warn_once("fifo-window", "a batching window is not supported for FIFO "
                            "queues; ignored")
            return 0.0
        if self.mapping.batch_size > RECEIVE_LIMIT and self.mapping.batching_window_s < 1:
            self._warn_once("window", "a BatchSize above 10 needs a batching window of at "
                            "least 1 s in AWS; filling batches without waiting")
        return self.mapping.batching_window_s

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, extra={"mapping": self.mapping.uuid,
                                        "queue": self.mapping.source_arn})

    def _fill(self, now: float) -> None:
        """Top the gathered batch up from the queue: ReceiveMessage until it is full or
        a call comes back short (nothing more to receive right now)."""
        self._next_poll = now + self.poll_interval_s
        self.polls += 1
        received = 0
        visibility_timeout: int | None = None
        while not self._full():
            want = min(RECEIVE_LIMIT, self.mapping.batch_size - len(self._gathered))
            raw = self._queue.receive(want)
            if raw:
                if visibility_timeout is None:
                    visibility_timeout = self._queue.visibility_timeout_s()
                if self._gathering_since is None:
                    self._gathering_since = now
                timeout = visibility_timeout + (0 if self.virtual_visibility
                                                else REAL_VISIBILITY_MARGIN_S)
                self._gather([QueueMessage.from_api(data, now, timeout) for data in raw])
                received += len(raw)
            if len(raw) < want:
                break
        self.last_poll_at = now
        self.last_poll_count = received

    def _gather(self, messages: list[QueueMessage]) -> None:
        """Add the messages the mapping's filters let through; delete the others, as
        Lambda does (a message no filter matches is removed from the queue)."""
        keep = kept(self.mapping.filter_patterns, "sqs",
                    (m.event_record(self.mapping) for m in messages))
        for message, wanted in zip(messages, keep, strict=True):
            if wanted:
                self._gathered.append(message)
                self._gathered_bytes += record_bytes(message)
        self._queue.delete([m for m, wanted in zip(messages, keep, strict=True) if not wanted])

    def _full(self) -> bool:
        return (len(self._gathered) >= self.mapping.batch_size
                or self._gathered_bytes >= MAX_PAYLOAD_BYTES)

    # -- batching ----------------------------------------------------------------------
    def _ready(self, now: float) -> bool:
        if not self._gathered:
            return False
        assert self._gathering_since is not None
        return self._full() or now >= self._gathering_since + self._window_s()

    def _take_batch(self) -> list[QueueMessage]:
        batch: list[QueueMessage] = []
        size = 0
        for message in self._gathered:
            size += record_bytes(message)
            if len(batch) == self.mapping.batch_size or (batch and size > MAX_PAYLOAD_BYTES):
                break
            batch.append(message)
        # What did not fit the payload was received already (its visibility timeout is
        # running): it starts the next batch, in the window that is already open.
        self._gathered = self._gathered[len(batch):]
        self._gathered_bytes = sum(record_bytes(m) for m in self._gathered)
        if not self._gathered:
            self._gathering_since = None
        return batch

    def _ready_batches(self, now: float) -> list[list[QueueMessage]]:
        batches: list[list[QueueMessage]] = []
        while self._ready(now):
            batches.append(self._take_batch())
            if len(batches) >= self.mapping.concurrency:
                break
            if not self._gathered:
                self._fill(now)
        return batches

    # -- invoking ----------------------------------------------------------------------
    def _run(self, batches: list[list[QueueMessage]], now: float) -> None:
        if len(batches) == 1:
            results = [self._invoke(batches[0])]
        else:
            with concurrent.futures.ThreadPoolExecutor(
                    len(batches), thread_name_prefix=f"sqs-{self.mapping.uuid[:8]}") as pool:
                results = list(pool.map(self._invoke, batches))
        for batch, result in zip(batches, results, strict=True):
            self._settle(batch, result, now)

    def _invoke(self, batch: list[QueueMessage]) -> InvocationResult:
        event = {"Records": [m.event_record(self.mapping) for m in batch]}
        return self.invoke(self.mapping.function_arn, event)

    def _settle(self, batch: list[QueueMessage], result: InvocationResult,
                now: float) -> None:
        verdict = judge(result, batch, self.mapping.report_batch_item_failures)
        self.invocations += 1
        done = [m for m in batch if m.message_id not in verdict.failed]
        failed = [m for m in batch if m.message_id in verdict.failed]
        self._queue.delete(done)
        # Failed messages are left alone: they reappear when their visibility timeout
        # runs out (released here on a virtual clock, by moto on the real one).
        for message in failed:
            self._in_flight[message.receipt_handle] = message
        if failed:
            self.errors += 1
            self.retries += len(failed)
            log.warning("%d of %d messages left for another attempt (%s)", len(failed),
                        len(batch), verdict.outcome,
                        extra={"queue": self.mapping.source_arn,
                               "error": result.error_type,
                               "message_ids": [m.message_id for m in failed]})
        self.record_invocation(SqsInvocation(
            function=self.mapping.function_arn, mapping_uuid=self.mapping.uuid,
            queue_arn=self.mapping.source_arn,
            message_ids=tuple(m.message_id for m in batch), batch_size=len(batch),
            duration_ms=result.duration_ms, outcome=verdict.outcome,
            error_type=result.error_type,
            failed_message_ids=tuple(m.message_id for m in failed), at=now,
        ))

    def _release_expired(self, now: float) -> bool:
        """Forget failed messages whose visibility timeout has run out; on a virtual clock
        make them visible in moto at that moment. True when any was due."""
        due = [m for m in self._in_flight.values() if m.visible_again_at <= now]
        for message in due:
            del self._in_flight[message.receipt_handle]
        if due and self.virtual_visibility:
            self._queue.make_visible(due)
        return bool(due)
