"""Kinesis mappings with TumblingWindowInSeconds (AWS-SEMANTICS.md, "TumblingWindowInSeconds").

Every test uses 10 s windows from 2030-01-01T00:00:00Z, so windows start on round 10 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shardline.local.embedded import EmbeddedAws, reset_backends
from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z
W0 = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T00:00:10Z"}
W1 = {"start": "2030-01-01T00:00:10Z", "end": "2030-01-01T00:00:20Z"}

# Counts the window's records in its state; the final invoke returns an empty state.
COUNT = """
def lambda_handler(event, context):
    seen(event)
    if event["isFinalInvokeForWindow"]:
        return {"state": {}}
    state = dict(event["state"])
    state["count"] = state.get("count", 0) + len(event["Records"])
    return {"state": state}
"""


def _calls(harness: Harness, function: str) -> list[tuple[Any, ...]]:
    """(records, window, state received, isFinalInvokeForWindow, isWindowTerminatedEarly)
    of every invocation."""
    return [([decode(r) for r in e["Records"]], e["window"], e["state"],
             e["isFinalInvokeForWindow"], e["isWindowTerminatedEarly"])
            for e in harness.seen(function)]


def _map(harness: Harness, function: str, body: str, **settings: Any) -> str:
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function(function, body)
    harness.map(stream, function, TumblingWindowInSeconds=10, **settings)
    return stream


def test_windows_align_carry_state_and_end_with_one_final_invoke(harness: Harness) -> None:
    # GIVEN 10 s windows, BatchSize 2, three records at 1 s and one at 4 s
    stream = _map(harness, "counter", COUNT, BatchSize=2)
    harness.clock.advance_to(T0 + 1)
    harness.put(stream, ["a", "b", "c"])
    harness.start()
    harness.advance(3)
    harness.put(stream, ["d"])

    # WHEN the engine runs past the window, and a record of the next window arrives
    harness.advance(8)
    harness.put(stream, ["e"])
    harness.advance(10)

    # THEN each window got its batches with the state carried, then one final invoke
    # with the last state at the first poll after the window's end
    assert _calls(harness, "counter") == [
        (["a", "b"], W0, {}, False, False),
        (["c"], W0, {"count": 2}, False, False),
        (["d"], W0, {"count": 3}, False, False),
        ([], W0, {"count": 4}, True, False),
        (["e"], W1, {}, False, False),
        ([], W1, {"count": 1}, True, False),
    ]
    finals = [round(i.at - T0, 3) for i in harness.engine.invocation_log if i.final_for_window]
    assert finals == [10.0, 20.0]
    # AND the top-level fields of a window invocation
    event = harness.seen("counter")[0]
    assert event["shardId"] == "shardId-000000000000"
    assert event["eventSourceARN"] == stream


STATELESS_ONCE = """
calls = []

def lambda_handler(event, context):
    seen(event)
    calls.append(1)
    if len(calls) == 1:
        return {"batchItemFailures": []}
    return {"state": {"records": len(event["Records"])}}
"""


def test_a_response_without_state_is_a_failed_invocation(harness: Harness) -> None:
    # GIVEN a handler whose first response has no state
    stream = _map(harness, "forgetful", STATELESS_ONCE, BatchSize=10)
    harness.clock.advance_to(T0 + 1)
    harness.put(stream, ["a", "b"])

    # WHEN the engine runs
    harness.start()
    harness.advance(3)

    # THEN the batch was retried with the same (empty) state
    assert _calls(harness, "forgetful") == [
        (["a", "b"], W0, {}, False, False),
        (["a", "b"], W0, {}, False, False),
    ]


FINAL_FAILS_THREE_TIMES = """
finals = []

def lambda_handler(event, context):
    seen(event)
    if event["isFinalInvokeForWindow"]:
        finals.append(1)
        if len(finals) <= 3:
            raise RuntimeError("flush failed")
        return {"state": {}}
    return {"state": {"seen": event["state"].get("seen", []) + payloads(event)}}
"""


def test_a_failed_final_invoke_halts_the_shard_until_it_succeeds(harness: Harness) -> None:
    """The final invoke is retried until it succeeds, whatever MaximumRetryAttempts says."""
    # GIVEN a final invoke that fails three times and no retries allowed for batches
    stream = _map(harness, "flusher", FINAL_FAILS_THREE_TIMES, BatchSize=10,
                  MaximumRetryAttempts=0)
    harness.clock.advance_to(T0 + 1)
    harness.put(stream, ["a"])
    harness.start()
    harness.advance(10)

    # WHEN a record of the next window arrives while the final invoke is failing
    harness.put(stream, ["b"])
    harness.advance(10)

    # THEN the final invoke was retried (0.5 s, 1 s, 2 s later) and b, read at 12 s,
    # waited for it to succeed at 13.5 s
    assert _calls(harness, "flusher") == [
        (["a"], W0, {}, False, False),
        ([], W0, {"seen": ["a"]}, True, False),
        ([], W0, {"seen": ["a"]}, True, False),
        ([], W0, {"seen": ["a"]}, True, False),
        ([], W0, {"seen": ["a"]}, True, False),
        (["b"], W1, {}, False, False),
        ([], W1, {"seen": ["b"]}, True, False),
    ]
    times = [round(i.at - T0, 3) for i in harness.engine.invocation_log]
    assert times == [1.0, 10.0, 10.5, 11.5, 13.5, 13.5, 20.0]


SEEN_STATE = """
def lambda_handler(event, context):
    seen(event)
    if event["isFinalInvokeForWindow"] or event["isWindowTerminatedEarly"]:
        return {"state": {}}
    return {"state": {"seen": event["state"].get("seen", []) + payloads(event)}}
"""


@pytest.fixture
def capped_harness(embedded_aws: EmbeddedAws, tmp_path: Path) -> Iterator[Harness]:
    """A harness whose engine caps window state at 20 bytes instead of 1 MB."""
    reset_backends()
    running = Harness(embedded_aws, tmp_path, state_cap_bytes=20)
    yield running
    running.close()
    reset_backends()


def test_state_past_the_cap_terminates_the_window_early(capped_harness: Harness) -> None:
    """AWS: isFinalInvokeForWindow is true once per window; after an early termination
    "the same window continues with a fresh state". So shardline terminates early with
    an extra invocation (no records, the oversized state, isWindowTerminatedEarly true,
    isFinalInvokeForWindow false), continues the window from {}, and closes it once."""
    harness = capped_harness
    # GIVEN a 20-byte state cap and a state that lists every record
    stream = _map(harness, "lister", SEEN_STATE, BatchSize=1)
    harness.clock.advance_to(T0 + 1)
    harness.put(stream, ["a", "b", "c", "d"])

    # WHEN the engine runs past the window
    harness.start()
    harness.advance(10)

    # THEN the state of a, b, c (22 bytes of JSON) ended the window early; d began a fresh state
    assert _calls(harness, "lister") == [
        (["a"], W0, {}, False, False),
        (["b"], W0, {"seen": ["a"]}, False, False),
        (["c"], W0, {"seen": ["a", "b"]}, False, False),
        ([], W0, {"seen": ["a", "b", "c"]}, False, True),
        (["d"], W0, {}, False, False),
        ([], W0, {"seen": ["d"]}, True, False),
    ]


FAIL_ON_B_ONCE = """
failed = []

def lambda_handler(event, context):
    seen(event)
    if "b" in payloads(event) and not failed:
        failed.append(1)
        raise RuntimeError("b failed")
    if event["isFinalInvokeForWindow"]:
        return {"state": {}}
    return {"state": {"seen": event["state"].get("seen", []) + payloads(event)}}
"""


def test_a_retry_receives_the_state_of_the_last_successful_invocation(
        harness: Harness) -> None:
    """Which state a retry receives is undocumented; shardline passes the last
    successful invocation's."""
    # GIVEN one record per batch and a handler that fails on b once
    stream = _map(harness, "retrier", FAIL_ON_B_ONCE, BatchSize=1)
    harness.clock.advance_to(T0 + 1)
    harness.put(stream, ["a", "b", "c"])

    # WHEN the engine runs
    harness.start()
    harness.advance(3)

    # THEN the retry of b got the state a's invocation returned
    assert _calls(harness, "retrier")[:4] == [
        (["a"], W0, {}, False, False),
        (["b"], W0, {"seen": ["a"]}, False, False),
        (["b"], W0, {"seen": ["a"]}, False, False),
        (["c"], W0, {"seen": ["a", "b"]}, False, False),
    ]


REPORT_B_ONCE = """
reported = []

def lambda_handler(event, context):
    seen(event)
    state = dict(event["state"])
    failures = []
    for payload, sequence_number in zip(payloads(event), sequence_numbers(event)):
        if payload == "b" and not reported:
            reported.append(1)
            failures = [{"itemIdentifier": sequence_number}]
            break
        state["seen"] = state.get("seen", []) + [payload]
    return {"state": state, "batchItemFailures": failures}
"""


def test_a_partial_failure_keeps_the_state_it_returned(harness: Harness) -> None:
    """A partial-batch response that carries a state is accepted for the records before
    the failure: the retry from the failed record receives that state (the handler is
    expected to leave failed records out of it)."""
    # GIVEN ReportBatchItemFailures and a handler that reports b failed once
    stream = _map(harness, "reporter", REPORT_B_ONCE, BatchSize=3,
                  FunctionResponseTypes=["ReportBatchItemFailures"])
    harness.clock.advance_to(T0 + 1)
    harness.put(stream, ["a", "b", "c"])

    # WHEN the engine runs
    harness.start()
    harness.advance(3)

    # THEN the retry from b received the state that covers a
    assert _calls(harness, "reporter")[:2] == [
        (["a", "b", "c"], W0, {}, False, False),
        (["b", "c"], W0, {"seen": ["a"]}, False, False),
    ]
