"""Asynchronous invocation and concurrency (AWS Lambda guide, "How Lambda handles errors and
retries with asynchronous invocation"): a function's queued events run side by side up to
its reserved concurrency; over it they are throttled, returned to the queue and tried
again after 1 s, then at intervals doubling to at most 5 minutes, for as long as the
event's maximum age allows (6 hours by default) — throttles do not count against
MaximumRetryAttempts; an event that ages out goes to the on-failure destination with
condition EventAgeExceeded.

A function's concurrency is held for these tests by a synchronous invocation whose handler
waits on ``GATE`` (in another thread, in real time) while virtual time moves on. The last
test runs the invoker in real time, as ``shardline local up`` does (about 1.5 s).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shardline.local.async_invoke import AsyncInvoker, FunctionInvocation
from shardline.local.scheduling import RealClock, RealTimeDriver
from tests.conformance.harness import Harness
from tests.conformance.test_async_invoke import T0, at, configure_async, invoke_async, started

HOLDING_STARTED = threading.Event()
GATE = threading.Event()

STORE = """
def lambda_handler(event, context):
    seen(event)
    return {"stored": event["reading"]}
"""

# A synchronous call {"hold": true} waits until the test opens the gate.
HOLDING = """
def lambda_handler(event, context):
    if event.get("hold"):
        from tests.conformance.test_async_concurrency import GATE, HOLDING_STARTED
        HOLDING_STARTED.set()
        GATE.wait(30)
        return {"held": True}
    seen(event)
    return {"stored": event["reading"]}
"""


def _reserve(harness: Harness, function: str, units: int) -> None:
    harness.client("lambda").put_function_concurrency(FunctionName=function,
                                                      ReservedConcurrentExecutions=units)


@contextmanager
def _concurrency_held(harness: Harness, function: str) -> Iterator[None]:
    """One unit of the function's concurrency in use by a synchronous invocation."""
    GATE.clear()
    HOLDING_STARTED.clear()
    before = len(harness.invocations(function))
    caller = threading.Thread(target=lambda: harness.client("lambda").invoke(
        FunctionName=function, Payload=json.dumps({"hold": True})))
    caller.start()
    try:
        assert HOLDING_STARTED.wait(30), "the holding invocation did not start"
        yield
    finally:
        GATE.set()
        caller.join(timeout=30)
    assert len(harness.invocations(function)) > before


def _attempts(harness: Harness, function: str) -> list[tuple[float, str, int]]:
    return [(round(a.at - T0, 3), a.outcome, a.attempt) for a in harness.invocations(function)
            if a.invocation_type == "Event"]


def _peak(harness: Harness, function: str) -> int:
    """The most asynchronous invocations of ``function`` running at one time."""
    spans = [(a.at, a.at + a.duration_ms / 1000) for a in harness.invocations(function)
             if a.invocation_type == "Event" and a.outcome != "throttled"]
    return max(sum(start <= s < end for s, _ in spans) for start, end in spans)


def test_queued_events_run_side_by_side_up_to_the_reserved_concurrency(
        harness: Harness) -> None:
    # GIVEN a function with reserved concurrency 2
    harness.function("store", STORE)
    _reserve(harness, "store", 2)
    started(harness)

    # WHEN five events are queued at once
    for reading in range(5):
        invoke_async(harness, "store", {"reading": reading})
    harness.advance(10)

    # THEN two run at once, the other three are throttled and tried again a second
    # later, when two of them run; the last waits two more seconds
    outcomes = [(round(t), outcome) for t, outcome, _ in _attempts(harness, "store")]
    assert outcomes == [(0, "ok"), (0, "ok"), (0, "throttled"), (0, "throttled"),
                        (0, "throttled"), (1, "ok"), (1, "ok"), (1, "throttled"),
                        (3, "ok")]
    # AND never more than two ran at one time, and every event ran once
    assert _peak(harness, "store") == 2
    assert sorted(e["reading"] for e in harness.seen("store")) == [0, 1, 2, 3, 4]


def test_throttled_events_stay_queued_with_exponential_backoff_without_using_retries(
        harness: Harness) -> None:
    # GIVEN a function with reserved concurrency 1, no retries for function errors, and
    # its one unit in use by a long synchronous invocation
    harness.function("store", HOLDING)
    _reserve(harness, "store", 1)
    configure_async(harness, "store", MaximumRetryAttempts=0)
    started(harness)

    # WHEN an event is queued and the unit stays in use for 15 minutes
    with _concurrency_held(harness, "store"):
        invoke_async(harness, "store", {"reading": 7})
        harness.advance(900)
    harness.advance(600)

    # THEN it was throttled 1 s after the first attempt, then 2, 4, ... s apart up to
    # 5 minutes, and ran at the first attempt after the unit was free — as its first
    # invocation: throttles used none of its (zero) retries
    assert _attempts(harness, "store") == [
        (0, "throttled", 1), (1, "throttled", 1), (3, "throttled", 1), (7, "throttled", 1),
        (15, "throttled", 1), (31, "throttled", 1), (63, "throttled", 1),
        (127, "throttled", 1), (255, "throttled", 1), (511, "throttled", 1),
        (811, "throttled", 1), (1111, "ok", 1)]
    assert harness.seen("store") == [{"reading": 7}]


def test_a_throttled_event_older_than_its_maximum_age_goes_to_on_failure(
        harness: Harness) -> None:
    # GIVEN a function whose events may wait 100 s, an on-failure queue, reserved
    # concurrency 1 and its unit in use
    queue_url, queue_arn = harness.queue("failures")
    function_arn = harness.function("store", HOLDING)
    _reserve(harness, "store", 1)
    configure_async(harness, "store", on_failure=queue_arn, MaximumEventAgeInSeconds=100)
    started(harness)

    # WHEN an event is queued and the unit stays in use for 5 minutes
    with _concurrency_held(harness, "store"):
        invoke_async(harness, "store", {"reading": 9})
        harness.advance(300)

    # THEN it was throttled until it reached 100 s, never ran, and was discarded then
    # with condition EventAgeExceeded, no invocation counted and no response
    assert [t for t, _, _ in _attempts(harness, "store")] == [0, 1, 3, 7, 15, 31, 63]
    assert harness.seen("store") == []
    (record,) = harness.messages(queue_url)
    expected: dict[str, Any] = {
        "version": "1.0",
        "timestamp": at(100),
        "requestContext": {"requestId": record["requestContext"]["requestId"],
                           "functionArn": f"{function_arn}:$LATEST",
                           "condition": "EventAgeExceeded", "approximateInvokeCount": 0},
        "requestPayload": {"reading": 9},
    }
    assert record == expected


SLOW = """
import time

def lambda_handler(event, context):
    seen(event)
    time.sleep(0.3)
    return {"stored": event["reading"]}
"""


def test_in_real_time_an_event_over_the_reservation_is_throttled_not_held(
        harness: Harness) -> None:
    # GIVEN a function reserved to 1 whose handler takes 0.3 s, and the invoker as
    # `local up` runs it (real clock, events on worker threads)
    function_arn = harness.function("slow", SLOW)
    _reserve(harness, "slow", 1)
    log: list[FunctionInvocation] = []
    driver = RealTimeDriver()
    invoker = AsyncInvoker(harness.client, harness.runtime, RealClock(), driver,
                           record_invocation=log.append, concurrent=True)

    # WHEN two events are queued at once
    try:
        for reading in (1, 2):
            invoker.submit(function_arn, {"reading": reading})
        deadline = time.monotonic() + 20
        while sum(i.outcome == "ok" for i in log) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        invoker.stop()
        driver.stop()

    # THEN the second was throttled while the first ran, and ran at its retry a second
    # later — not as soon as the first had finished
    outcomes = [i.outcome for i in log]
    assert outcomes == ["throttled", "ok", "ok"] or outcomes == ["ok", "throttled", "ok"]
    first_ok, second_ok = [i.at for i in log if i.outcome == "ok"]
    assert second_ok - first_ok >= 0.9
