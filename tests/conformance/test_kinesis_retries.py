"""Kinesis mappings under function errors: MaximumRetryAttempts, MaximumRecordAgeInSeconds,
a failing batch blocking its shard, handler timeouts (AWS-SEMANTICS.md, "Lambda event
source mappings for streams")."""

from __future__ import annotations

import hashlib

from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

FAIL_ON_BAD = """
def lambda_handler(event, context):
    seen(event)
    if "bad" in payloads(event):
        raise ValueError("bad record")
    return {}
"""

FAIL_FOUR_TIMES = """
calls = []

def lambda_handler(event, context):
    seen(event)
    calls.append(1)
    if len(calls) <= 4:
        raise ValueError(f"failure {len(calls)}")
    return {}
"""


def _batches(harness: Harness, function: str) -> list[list[str]]:
    return [[decode(r) for r in event["Records"]] for event in harness.seen(function)]


def _invoked_at(harness: Harness) -> list[float]:
    return [round(i.at - T0, 3) for i in harness.engine.invocation_log]


def _setup(harness: Harness, body: str, **settings: object) -> tuple[str, str]:
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    queue_url, queue_arn = harness.queue("failures")
    harness.function("handler", body)
    harness.map(stream, "handler", DestinationConfig={"OnFailure": {"Destination": queue_arn}},
                **settings)
    return stream, queue_url


def test_zero_retries_skips_the_batch_after_its_first_failure(harness: Harness) -> None:
    # GIVEN MaximumRetryAttempts 0 and a batch that always fails
    stream, queue_url = _setup(harness, FAIL_ON_BAD, BatchSize=2, MaximumRetryAttempts=0)
    harness.put(stream, ["bad", "ok-1", "ok-2"])

    # WHEN the engine runs
    harness.start()
    harness.advance(3)

    # THEN the batch was invoked once, skipped, and the shard moved on
    assert _batches(harness, "handler") == [["bad", "ok-1"], ["ok-2"]]
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["KinesisBatchInfo"]["batchSize"] == 2


def test_n_retries_then_the_batch_is_skipped(harness: Harness) -> None:
    # GIVEN MaximumRetryAttempts 3 and a batch that always fails
    stream, queue_url = _setup(harness, FAIL_ON_BAD, BatchSize=2, MaximumRetryAttempts=3)
    harness.put(stream, ["bad", "ok-1", "ok-2"])

    # WHEN the engine runs
    harness.start()
    harness.advance(4)

    # THEN the batch was invoked 1 + 3 times, 0.5 s, 1 s and 2 s apart, then skipped
    assert _batches(harness, "handler") == [["bad", "ok-1"]] * 4 + [["ok-2"]]
    assert _invoked_at(harness) == [0.0, 0.5, 1.5, 3.5, 3.5]
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["approximateInvokeCount"] == 4


def test_minus_one_retries_until_the_batch_succeeds(harness: Harness) -> None:
    # GIVEN MaximumRetryAttempts -1 (the default) and a handler that fails 4 times
    stream, queue_url = _setup(harness, FAIL_FOUR_TIMES, BatchSize=2, MaximumRetryAttempts=-1)
    harness.put(stream, ["1", "2", "3"])

    # WHEN the engine runs
    harness.start()
    harness.advance(8)

    # THEN the same batch was retried until it succeeded (at 7.5 s); nothing was skipped
    assert _batches(harness, "handler") == [["1", "2"]] * 5 + [["3"]]
    assert harness.messages(queue_url) == []


def test_minus_one_retries_until_the_records_are_too_old(harness: Harness) -> None:
    """Records already past MaximumRecordAgeInSeconds when their turn comes are skipped
    without an invocation: their destination record has no ``responseContext`` and an
    ``approximateInvokeCount`` of 0 (AWS documents the former, not the latter)."""
    # GIVEN unlimited retries, a 60 s record age, a poison record and one behind it
    stream, queue_url = _setup(harness, FAIL_ON_BAD, BatchSize=1, MaximumRetryAttempts=-1,
                               MaximumRecordAgeInSeconds=60)
    sequence_numbers = harness.put(stream, ["bad", "behind"])

    # WHEN the engine runs past the record age, and a fresh record arrives then
    harness.start()
    harness.advance(64)
    harness.put(stream, ["fresh"])
    harness.advance(2)

    # THEN the poison record was retried until it was 60 s old; the record behind it
    # expired waiting and was never invoked; the fresh one was delivered
    batches = _batches(harness, "handler")
    assert set(map(tuple, batches[:-1])) == {("bad",)}
    assert batches[-1] == ["fresh"]
    retried, expired = harness.messages(queue_url)
    assert retried["requestContext"]["condition"] == "RecordAgeExceeded"
    assert retried["requestContext"]["approximateInvokeCount"] == len(batches) - 1
    assert retried["responseContext"]["functionError"] == "Unhandled"
    assert retried["KinesisBatchInfo"]["startSequenceNumber"] == sequence_numbers[0]
    assert expired["requestContext"]["condition"] == "RecordAgeExceeded"
    assert expired["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in expired
    assert expired["KinesisBatchInfo"]["startSequenceNumber"] == sequence_numbers[1]
    assert retried["timestamp"] == expired["timestamp"] == "2030-01-01T00:01:03.500Z"


def _key_for_shard(shard: int, shards: int = 2) -> str:
    """A partition key whose MD5 hash key falls in the given shard of an evenly split
    stream."""
    width = 2 ** 128 // shards
    for n in range(1000):
        key = f"device-{n}"
        if int(hashlib.md5(key.encode()).hexdigest(), 16) // width == shard:
            return key
    raise AssertionError("no key found")


def test_a_failing_batch_blocks_its_shard_while_another_shard_proceeds(
        harness: Harness) -> None:
    # GIVEN two shards, unlimited retries, and a poison record first in shard 0
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry", shards=2)
    harness.function("handler", FAIL_ON_BAD)
    harness.map(stream, "handler", BatchSize=1, MaximumRetryAttempts=-1)
    blocked, free = _key_for_shard(0), _key_for_shard(1)
    harness.put(stream, ["bad", "a-1"], partition_key=blocked)
    harness.put(stream, ["b-1"], partition_key=free)

    # WHEN the engine runs and more records arrive on both shards
    harness.start()
    harness.advance(5)
    harness.put(stream, ["a-2"], partition_key=blocked)
    harness.put(stream, ["b-2"], partition_key=free)
    harness.advance(5)

    # THEN shard 0 retried its poison record only; shard 1 delivered everything
    by_shard: dict[str, list[list[str]]] = {}
    for event in harness.seen("handler"):
        shard = event["Records"][0]["eventID"].split(":")[0]
        by_shard.setdefault(shard, []).append([decode(r) for r in event["Records"]])
    assert set(map(tuple, by_shard["shardId-000000000000"])) == {("bad",)}
    assert by_shard["shardId-000000000001"] == [["b-1"], ["b-2"]]


SLOW_ONCE = """
import time

calls = []

def lambda_handler(event, context):
    seen(event)
    calls.append(1)
    if len(calls) == 1:
        time.sleep(2)
    return {}
"""


def test_a_handler_timeout_is_a_function_error(harness: Harness) -> None:
    # GIVEN a function with a 1 s timeout whose first invocation takes 2 s, and bisect on
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("slow", SLOW_ONCE, timeout=1)
    harness.map(stream, "slow", BatchSize=2, BisectBatchOnFunctionError=True)
    harness.put(stream, ["1", "2"])

    # WHEN the engine runs
    harness.start()
    harness.advance(2)

    # THEN the timed-out invocation failed like a raised error: the batch was bisected
    assert _batches(harness, "slow") == [["1", "2"], ["1"], ["2"]]
    log = list(harness.engine.invocation_log)
    assert [(i.outcome, i.error_type) for i in log] == [
        ("error", "Sandbox.Timedout"), ("ok", None), ("ok", None)]
