"""On-failure destinations of Kinesis mappings: the exact record Lambda sends to SQS and
to SNS (AWS-SEMANTICS.md, "on-failure destination")."""

from __future__ import annotations

from typing import Any

from tests.conformance.harness import Harness

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

# Fails every batch; remembers each invocation's request ID.
ALWAYS_FAIL = """
def lambda_handler(event, context):
    seen(event)
    recorder.record("request-ids", {"id": context.aws_request_id})
    raise ValueError("always")
"""

# Reports the batch's last record failed, every time.
REPORT_LAST_FAILED = """
def lambda_handler(event, context):
    seen(event)
    recorder.record("request-ids", {"id": context.aws_request_id})
    return {"batchItemFailures": [{"itemIdentifier": sequence_numbers(event)[-1]}]}
"""


def _fail_two_records(harness: Harness, destination_arn: str, body: str,
                      **settings: Any) -> tuple[str, list[str]]:
    """Two records put at T0 and T0 + 1 s; a mapping that retries once."""
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("failing", body)
    harness.map(stream, "failing", BatchSize=10, MaximumRetryAttempts=1,
                MaximumBatchingWindowInSeconds=2,
                DestinationConfig={"OnFailure": {"Destination": destination_arn}}, **settings)
    sequence_numbers = harness.put(stream, ["1"])
    harness.clock.advance_to(T0 + 1)
    sequence_numbers += harness.put(stream, ["2"])
    harness.start()
    harness.advance(3)
    return stream, sequence_numbers


def _request_ids(harness: Harness) -> list[str]:
    return [call["id"] for call in harness.seen("request-ids")]


def test_sqs_destination_gets_the_documented_record(harness: Harness) -> None:
    # GIVEN a batch of two records that always fails, one retry, an SQS destination
    queue_url, queue_arn = harness.queue("failures")

    # WHEN the engine runs (first poll at 1 s, 2 s batching window, retry 0.5 s later)
    stream, sequence_numbers = _fail_two_records(harness, queue_arn, ALWAYS_FAIL)

    # THEN the queue holds exactly the record AWS documents for Kinesis
    assert harness.messages(queue_url) == [{
        "requestContext": {
            "requestId": _request_ids(harness)[-1],
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:failing",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 2,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": "2030-01-01T00:00:03.500Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000000",
            "startSequenceNumber": sequence_numbers[0],
            "endSequenceNumber": sequence_numbers[1],
            "approximateArrivalOfFirstRecord": "2030-01-01T00:00:00.000Z",
            "approximateArrivalOfLastRecord": "2030-01-01T00:00:01.000Z",
            "batchSize": 2,
            "streamArn": stream,
        },
    }]


def test_sns_destination_gets_the_same_record(harness: Harness) -> None:
    # GIVEN an SNS topic as destination, read through an SQS subscription
    sns = harness.client("sns")
    topic_arn = sns.create_topic(Name="failures")["TopicArn"]
    queue_url, queue_arn = harness.queue("failures-subscriber")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})

    # WHEN a batch fails for good
    stream, sequence_numbers = _fail_two_records(harness, topic_arn, ALWAYS_FAIL)

    # THEN the topic published the same document
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"] == {
        "requestId": _request_ids(harness)[-1],
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:failing",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 2,
    }
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["KinesisBatchInfo"]["startSequenceNumber"] == sequence_numbers[0]
    assert failure["KinesisBatchInfo"]["endSequenceNumber"] == sequence_numbers[1]
    assert failure["KinesisBatchInfo"]["streamArn"] == stream


def test_after_a_partial_batch_failure_function_error_is_null(harness: Harness) -> None:
    """The destination names the records from the lowest reported failure on; the
    attempts that reported it count as invocations of that batch."""
    # GIVEN a handler that always reports the batch's last record failed
    queue_url, queue_arn = harness.queue("failures")

    # WHEN the retries run out
    _, sequence_numbers = _fail_two_records(
        harness, queue_arn, REPORT_LAST_FAILED,
        FunctionResponseTypes=["ReportBatchItemFailures"])

    # THEN record 1 was checkpointed; record 2 went to the destination with a null
    # functionError
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["requestId"] == _request_ids(harness)[-1]
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                          "functionError": None}
    assert failure["KinesisBatchInfo"]["startSequenceNumber"] == sequence_numbers[1]
    assert failure["KinesisBatchInfo"]["endSequenceNumber"] == sequence_numbers[1]
    assert failure["KinesisBatchInfo"]["batchSize"] == 1
    assert failure["KinesisBatchInfo"]["approximateArrivalOfFirstRecord"] == \
        "2030-01-01T00:00:01.000Z"
