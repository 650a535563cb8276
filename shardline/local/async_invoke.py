"""The Lambda Invoke API as the service runs it: synchronous, asynchronous and DryRun.

``AsyncInvoker.invoke_api`` is what the embedded AWS calls for every ``Invoke``
(``embedded.attach_runtime``):

* ``RequestResponse`` runs the handler now and returns its JSON, or the error document
  with ``FunctionError: Unhandled``; over the function's reserved concurrency the call
  fails with ``TooManyRequestsException`` (429, Reason
  ``ReservedFunctionConcurrentInvocationLimitExceeded``) and the handler does not run.
* ``Event`` puts the event on the function's queue and returns 202 at once. Each
  function's queue is a driver component (``FunctionEventQueue``) that exists while it
  holds events. An event is invoked; a function error (an exception, a timeout, an
  unmarshallable response) is retried ``MaximumRetryAttempts`` times (0-2, default 2),
  1 minute before the first retry and 2 minutes before the second; an event older than
  ``MaximumEventAgeInSeconds`` (60-21,600, default 6 h) is discarded with condition
  ``EventAgeExceeded``, one that used up its retries with ``RetriesExhausted``, and the
  on-failure destination gets an invocation record; a success goes to the on-success
  destination. Throttled events stay queued and are retried 1 s, 2 s, 4 s ... up to 5
  minutes apart until they run or age out (retries of throttles do not count against
  MaximumRetryAttempts). With reserved concurrency 0, as AWS documents, events go to
  the on-failure destination at once, without retries or invocations. On the virtual
  clock an event's invocation holds its unit of concurrency for as long as it really
  ran (``function_concurrency``), so events due at one instant run side by side up to
  the reservation and the others are throttled, as on AWS.
* ``DryRun`` checks the request and runs nothing (204).

Settings are read through the Lambda API for every attempt (``invoke_settings``), so
changes apply to the next attempt.

Destinations and the invocation record they get: ``async_destinations``.

Every invocation, and every throttled attempt, goes to ``record_invocation`` as a
``FunctionInvocation``, which has the fields of the stream consumers' ``Invocation``
so one log serves both.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import json
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from shardline.local.async_destinations import (
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    SUCCESS,
    AsyncDestinations,
    invocation_record,
)
from shardline.local.function_concurrency import ConcurrencyLedger
from shardline.local.functions import FunctionRuntime, InvocationResult
from shardline.local.invoke_model import (
    ASYNC_PAYLOAD_LIMIT_BYTES,
    SYNC_PAYLOAD_LIMIT_BYTES,
    EventInvokeConfig,
    FunctionInvocation,
    QueuedEvent,
    Throttled,
    api_error,
    decode_payload,
)
from shardline.local.invoke_settings import CONFIG_TTL_S, InvokeSettings
from shardline.local.scheduling import Clock

log = logging.getLogger("shardline.engine")

RETRY_DELAYS_S = (60.0, 120.0)  # before the first and the second retry of a function error
THROTTLE_BACKOFF_FIRST_S = 1.0
THROTTLE_BACKOFF_MAX_S = 300.0
ASYNC_WORKERS = 32  # attempts in flight over all functions (real time)
BUSY_RECHECK_S = 0.05  # a queue at its function's concurrency looks again this soon

__all__ = ["EVENT_AGE_EXCEEDED", "RETRIES_EXHAUSTED", "SUCCESS", "AsyncInvoker",
           "FunctionEventQueue", "FunctionInvocation"]


class Driver(Protocol):
    def add(self, component: Any) -> None: ...

    def remove(self, component: Any) -> None: ...


@dataclass
class FunctionEventQueue:
    """One function's asynchronous event queue: a driver component while it holds events."""

    invoker: AsyncInvoker
    function_arn: str
    name: str = ""
    retired: bool = False
    in_flight: int = 0  # events being attempted on workers
    # The function's reserved concurrency as its last attempt read it (None: none, or no
    # attempt yet); what a queue waiting on a full machine compares against.
    reserved: int | None = None
    _heap: list[tuple[float, int, QueuedEvent]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or f"async/{self.function_arn.rsplit(':', 1)[-1]}"

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, event: QueuedEvent, sequence: int) -> None:
        heapq.heappush(self._heap, (event.not_before, sequence, event))

    def step(self, now: float) -> float:
        return self.invoker._step_queue(self, now)


@dataclass
class AsyncInvoker:
    """The Invoke API, the asynchronous event queues and their destinations."""

    clients: Callable[[str], Any]  # service name -> boto3 client for the embedded AWS
    runtime: FunctionRuntime
    clock: Clock
    driver: Driver
    record_invocation: Callable[[Any], None] = lambda invocation: None
    # Delivers a record to an SQS queue, SNS topic or S3 bucket: (arn, document, *,
    # object_key=None), ``Engine.send_to_destination``.
    send_to_destination: Callable[..., None] | None = None
    config_ttl_s: float = CONFIG_TTL_S
    # Real time: a function's events are attempted side by side on workers, up to its
    # concurrency; on the virtual clock, one at a time on the driver's thread.
    concurrent: bool = False
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    destinations: AsyncDestinations = field(init=False)
    concurrency: ConcurrencyLedger = field(init=False)
    settings: InvokeSettings = field(init=False)
    _queues: dict[str, FunctionEventQueue] = field(default_factory=dict)
    _running: int = 0  # events taken off a queue for an attempt, not yet settled
    _stopped: bool = False
    _clients: dict[str, Any] = field(default_factory=dict)
    _sequence: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _workers: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(
            max_workers=ASYNC_WORKERS, thread_name_prefix="async-invoke"))

    def __post_init__(self) -> None:
        self.concurrency = ConcurrencyLedger(self.clock, virtual=not self.concurrent)
        self.settings = InvokeSettings(self._client, self.clock, self.config_ttl_s)
        self.destinations = AsyncDestinations(self._client, self.submit,
                                              self.send_to_destination, self.clock)

    @property
    def destination_failures(self) -> int:
        """Invocation records that could not be delivered."""
        return self.destinations.failures

    # -- the Invoke API ----------------------------------------------------------------
    def invoke_api(self, function_arn: str, payload: bytes,
                   invocation_type: str) -> tuple[bytes, str | None]:
        """Serve one ``Invoke`` call (the embedded AWS's invoke hook)."""
        limit = (ASYNC_PAYLOAD_LIMIT_BYTES if invocation_type == "Event"
                 else SYNC_PAYLOAD_LIMIT_BYTES)
        if len(payload) > limit:
            raise api_error("RequestEntityTooLargeException", 413,
                             f"Request must be smaller than {limit} bytes for the "
                             "InvokeFunction operation")
        event = decode_payload(payload)
        if invocation_type == "DryRun":
            return b"", None
        if invocation_type == "Event":
            self.submit(function_arn, event)
            return b"", None
        try:
            result = self.invoke(function_arn, event)
        except Throttled:
            raise api_error(
                "TooManyRequestsException", 429, "Rate Exceeded.",
                Reason="ReservedFunctionConcurrentInvocationLimitExceeded", Type="User",
            ) from None
        return json.dumps(result.payload).encode(), result.function_error

    def invoke(self, function: str, event: Any, *, trigger: str = "api") -> InvocationResult:
        """A synchronous invocation; raises ``Throttled`` over the reserved concurrency."""
        function_arn = self._function_arn(function)
        reserved = self.settings.reserved_concurrency(function_arn)
        with self.concurrency.slot(function_arn, reserved) as admitted:
            if not admitted:
                with self._lock:
                    self.throttles += 1
                self._record(function_arn, "RequestResponse", str(uuid.uuid4()), 1, trigger,
                             None, self.clock.now())
                raise Throttled(function_arn)
            started = self.clock.now()
            result = self.runtime.invoke(function_arn, event)
        self._count(result)
        self._record(function_arn, "RequestResponse", result.request_id, 1, trigger, result,
                     started)
        return result

    # -- asynchronous events -----------------------------------------------------------
    def submit(self, function: str, payload: Any, *, trigger: str = "api",
               now: float | None = None) -> str:
        """Queue an event for asynchronous invocation; return its request ID."""
        now = self.clock.now() if now is None else now
        function_arn = self._function_arn(function)
        event = QueuedEvent(str(uuid.uuid4()), function_arn, json.loads(json.dumps(payload)), now,
                       trigger, not_before=now)
        with self._lock:
            self._queue_for(function_arn).push(event, next(self._sequence))
        return event.request_id

    @property
    def pending(self) -> int:
        """Events queued or waiting for a retry, over all functions."""
        with self._lock:
            return self._running + sum(len(queue) for queue in self._queues.values())

    @property
    def idle(self) -> bool:
        return self.pending == 0

    def stop(self) -> None:
        """Forget every queue (the driver is being stopped)."""
        with self._lock:
            self._stopped = True
            queues = list(self._queues.values())
            self._queues.clear()
            for queue in queues:
                queue.retired = True
        for queue in queues:  # outside the lock: a real-time driver joins the thread
            self.driver.remove(queue)
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _step_queue(self, queue: FunctionEventQueue, now: float) -> float:
        """Take the next due event off ``queue`` and attempt it: inline (virtual clock),
        or on a worker (real time), so a function's events run side by side as Lambda runs
        them; over its reserved concurrency an attempt is throttled, while the machine's
        own limit on environments only makes the queue wait."""
        with self._lock:
            if not queue._heap and not queue.in_flight:
                # Drained: leave the driver; the next event brings a new component.
                queue.retired = True
                if self._queues.get(queue.function_arn) is queue:
                    del self._queues[queue.function_arn]
                self.driver.remove(queue)
                return math.inf
            if not queue._heap:
                return now + BUSY_RECHECK_S
            not_before, _, event = queue._heap[0]
            if not_before > now:
                return not_before
            if (self.concurrent and queue.in_flight >= self._capacity(queue.function_arn)
                    and not self._reservation_used(queue)):
                return now + BUSY_RECHECK_S  # the machine's environments, not a throttle
            heapq.heappop(queue._heap)
            self._running += 1
            queue.in_flight += 1
        if self.concurrent:
            self._workers.submit(self._run_attempt, queue, event, now)
        else:
            self._run_attempt(queue, event, now)
        return now

    def _reservation_used(self, queue: FunctionEventQueue) -> bool:
        """The queue's attempts in flight use the function's whole reserved concurrency:
        the next attempt goes ahead and is throttled (AWS's backoff), as on AWS. The
        reservation is the one the attempts in flight read: a queue waiting on a full
        machine looks every ``BUSY_RECHECK_S``, and reading the setting through the API
        each time made a backlog's queues a steady load on the embedded AWS. A change
        applies once an attempt ends (each attempt reads it again)."""
        return queue.reserved is not None and queue.in_flight >= queue.reserved

    def _run_attempt(self, queue: FunctionEventQueue, event: QueuedEvent, now: float) -> None:
        try:
            wake = self._attempt(queue, event, now)
        except Exception:
            log.exception("asynchronous event %s for %s dropped after an internal error",
                          event.request_id, event.function_arn)
            wake = None
        with self._lock:
            self._running -= 1
            queue.in_flight -= 1
            if wake is not None and not self._stopped:
                event.not_before = wake
                self._queue_for(event.function_arn).push(event, next(self._sequence))

    def _queue_for(self, function_arn: str) -> FunctionEventQueue:
        """The function's live queue (a new driver component if it had retired)."""
        with self._lock:
            queue = self._queues.get(function_arn)
            if queue is None or queue.retired:
                queue = FunctionEventQueue(self, function_arn)
                self._queues[function_arn] = queue
                self.driver.add(queue)
            return queue

    def _capacity(self, function_arn: str) -> int:
        """The function's environments (its reserved concurrency, or the local cap); a
        reservation of 0 is settled in ``_attempt`` (no invocation at all)."""
        return max(1, self.runtime.capacity(function_arn))

    def _attempt(self, queue: FunctionEventQueue, event: QueuedEvent,
                 now: float) -> float | None:
        """Run one attempt of ``event``; return when to try again, or None when done."""
        config = self.settings.event_invoke_config(event.function_arn)
        expires_at = event.enqueued_at + config.maximum_event_age_s
        if now >= expires_at:
            self._discard(event, config, EVENT_AGE_EXCEEDED, now)
            return None
        reserved = self.settings.reserved_concurrency(event.function_arn)
        queue.reserved = reserved
        if reserved == 0:
            # AWS: events go to the on-failure destination without retries.
            with self._lock:
                self.throttles += 1
            self._record(event.function_arn, "Event", event.request_id,
                         event.invocations + 1, event.trigger, None, now)
            self._discard(event, config, RETRIES_EXHAUSTED, now)
            return None
        with self.concurrency.slot(event.function_arn, reserved, asynchronous=True) as admitted:
            if not admitted:
                event.throttles += 1
                with self._lock:
                    self.throttles += 1
                self._record(event.function_arn, "Event", event.request_id,
                             event.invocations + 1, event.trigger, None, now)
                backoff = min(THROTTLE_BACKOFF_FIRST_S * 2 ** (event.throttles - 1),
                              THROTTLE_BACKOFF_MAX_S)
                return min(now + backoff, expires_at)
            result = self.runtime.invoke(event.function_arn, event.payload,
                                         request_id=event.request_id)
        event.invocations += 1
        event.last_result = result
        self._count(result)
        self._record(event.function_arn, "Event", event.request_id, event.invocations,
                     event.trigger, result, now)
        if result.ok:
            if config.on_success:
                self.destinations.deliver(config.on_success,
                                          invocation_record(event, SUCCESS, now), success=True)
            return None
        if event.invocations > config.maximum_retry_attempts:
            self._discard(event, config, RETRIES_EXHAUSTED, now)
            return None
        delay = RETRY_DELAYS_S[min(event.invocations, len(RETRY_DELAYS_S)) - 1]
        return min(now + delay, expires_at)

    def _discard(self, event: QueuedEvent, config: EventInvokeConfig, condition: str,
                 now: float) -> None:
        log.warning("asynchronous event discarded: %s", condition,
                    extra={"function": event.function_arn, "request_id": event.request_id,
                           "invocations": event.invocations})
        if config.on_failure:
            self.destinations.deliver(config.on_failure,
                                      invocation_record(event, condition, now), success=False)

    # -- clients ---------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        """One client per service, reused (boto3 clients are thread-safe)."""
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._clients[service] = self.clients(service)
            return client

    # -- bookkeeping -------------------------------------------------------------------
    @staticmethod
    def _function_arn(function: str) -> str:
        """Unqualified ARN: queues, concurrency and settings are per function."""
        return function[: -len(":$LATEST")] if function.endswith(":$LATEST") else function

    def _count(self, result: InvocationResult) -> None:
        with self._lock:
            self.invocations += 1
            if not result.ok:
                self.errors += 1

    def _record(self, function_arn: str, invocation_type: str, request_id: str, attempt: int,
                trigger: str, result: InvocationResult | None, at: float) -> None:
        if result is None:
            outcome, error_type, duration = "throttled", "TooManyRequestsException", 0.0
        else:
            outcome = "ok" if result.ok else "error"
            error_type, duration = result.error_type, result.duration_ms
        self.record_invocation(FunctionInvocation(
            function=function_arn, duration_ms=duration, outcome=outcome,
            error_type=error_type, at=at, invocation_type=invocation_type,
            request_id=request_id, attempt=attempt, trigger=trigger,
        ))
