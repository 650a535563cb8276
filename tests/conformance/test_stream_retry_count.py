"""How retries are counted after a partial batch response (AWS-SEMANTICS.md, "retry count
after a partial batch response"), recorded on AWS for Kinesis and DynamoDB streams alike:
progress made by a partial batch response starts the rest's retry count afresh. With
MaximumRetryAttempts 3, a record every invocation reports failed is delivered 5 times —
once in the batch that partly succeeded, then 1 + 3 times — and its on-failure record
says approximateInvokeCount 4. Without progress, the invocation counts as a retry."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

# Reports every record whose payload is "bad" failed.
REPORT_BAD = """
def lambda_handler(event, context):
    seen(event)
    failed = [s for s, p in zip(sequence_numbers(event), payloads(event)) if p == "bad"]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}
"""

# Reports "bad" failed while records before it can be checkpointed; raises once it heads
# the batch (the aggregator's strategy).
REPORT_THEN_RAISE = """
def lambda_handler(event, context):
    seen(event)
    records = payloads(event)
    if "bad" not in records:
        return {"batchItemFailures": []}
    if records.index("bad") == 0:
        raise ValueError("bad record")
    return {"batchItemFailures": [
        {"itemIdentifier": sequence_numbers(event)[records.index("bad")]}]}
"""

# The same as REPORT_BAD for a DynamoDB stream: items keyed "bad" are reported failed.
REPORT_BAD_ITEM = """
def lambda_handler(event, context):
    seen(event)
    return {"batchItemFailures": [
        {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]
        if r["dynamodb"]["Keys"]["pk"]["S"] == "bad"]}
"""


def _kinesis(harness: Harness, body: str, payloads: list[str],
             **settings: Any) -> tuple[list[str], str]:
    """A stream with ``payloads`` in one shard, a mapping with an SQS destination, three
    retries and ReportBatchItemFailures, run for 5 s; the batches the handler saw."""
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    queue_url, queue_arn = harness.queue("failures")
    harness.function("handler", body)
    harness.map(stream, "handler", BatchSize=len(payloads), MaximumRetryAttempts=3,
                FunctionResponseTypes=["ReportBatchItemFailures"],
                DestinationConfig={"OnFailure": {"Destination": queue_arn}}, **settings)
    harness.put(stream, payloads)
    harness.start()
    harness.advance(5)
    return [",".join(decode(r) for r in e["Records"]) for e in harness.seen("handler")], \
        queue_url


@pytest.mark.parametrize("bisect", [False, True], ids=["bisect-off", "bisect-on"])
def test_progress_starts_the_retry_count_afresh(harness: Harness, bisect: bool) -> None:
    """A partial batch response is no function error: bisect changes nothing here."""
    # GIVEN MaximumRetryAttempts 3 and a handler that reports "bad" failed every time
    # WHEN a batch with one good record before "bad" is processed
    batches, queue_url = _kinesis(harness, REPORT_BAD, ["ok", "bad", "after"],
                                  BisectBatchOnFunctionError=bisect)

    # THEN "ok" is checkpointed; "bad" is delivered 5 times: once in the batch that
    # partly succeeded, then 1 + 3 times
    assert batches == ["ok,bad,after"] + ["bad,after"] * 4
    # AND its on-failure record counts the 4 invocations after the progress
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["approximateInvokeCount"] == 4
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["responseContext"]["functionError"] is None
    assert failure["KinesisBatchInfo"]["batchSize"] == 2


def test_without_progress_the_invocation_counts_as_a_retry(harness: Harness) -> None:
    # GIVEN MaximumRetryAttempts 3 and a handler that reports "bad" failed every time
    # WHEN "bad" heads its batch, so no response ever checkpoints anything
    batches, queue_url = _kinesis(harness, REPORT_BAD, ["bad", "after"])

    # THEN the batch is delivered 1 + 3 times, as after a function error
    assert batches == ["bad,after"] * 4
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["approximateInvokeCount"] == 4


def test_progress_then_a_function_error_bisects_with_a_fresh_retry_count(
        harness: Harness) -> None:
    """The rest of the batch after progress raises: bisect isolates "bad" without using
    retries, and the isolated record still has all of its 3 retries (its invocations as
    a batch of its own are what approximateInvokeCount counts)."""
    # GIVEN bisect on, MaximumRetryAttempts 3, the aggregator's report-then-raise handler
    # WHEN a batch with one good record before "bad" is processed
    batches, queue_url = _kinesis(harness, REPORT_THEN_RAISE, ["ok", "bad", "after"],
                                  BisectBatchOnFunctionError=True)

    # THEN: the partial response, the rest raising and split, "bad" alone 1 + 3 times,
    # then "after"
    assert batches == ["ok,bad,after", "bad,after"] + ["bad"] * 4 + ["after"]
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["approximateInvokeCount"] == 4
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["KinesisBatchInfo"]["batchSize"] == 1


@pytest.mark.parametrize(("keys", "expected"), [
    (["ok", "bad", "after"], ["ok,bad,after"] + ["bad,after"] * 4),
    (["bad", "after"], ["bad,after"] * 4),
], ids=["progress", "no-progress"])
def test_dynamodb_streams_count_retries_the_same_way(harness: Harness, keys: list[str],
                                                     expected: list[str]) -> None:
    # GIVEN a table's stream, MaximumRetryAttempts 3, a handler reporting item "bad" failed
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices")
    queue_url, queue_arn = harness.queue("failures")
    harness.function("handler", REPORT_BAD_ITEM)
    harness.map(stream, "handler", BatchSize=len(keys), MaximumRetryAttempts=3,
                FunctionResponseTypes=["ReportBatchItemFailures"],
                DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    for key in keys:
        harness.client("dynamodb").put_item(TableName="devices",
                                            Item={"pk": {"S": key}})

    # WHEN the engine runs
    harness.start()
    harness.advance(5)

    # THEN the deliveries and the invoke count are those recorded on AWS
    assert [",".join(r["dynamodb"]["Keys"]["pk"]["S"] for r in e["Records"])
            for e in harness.seen("handler")] == expected
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["approximateInvokeCount"] == 4
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
