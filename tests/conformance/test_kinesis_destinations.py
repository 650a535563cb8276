"""On-failure destinations of Kinesis mappings: the exact record Lambda sends to SQS, to
SNS and to S3 (AWS-SEMANTICS.md, "on-failure destination")."""

from __future__ import annotations

import json
import re
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


S3_KEY = re.compile(r"aws/lambda/(?P<uuid>[0-9a-f-]{36})/(?P<shard>shardId-\d{12})/"
                    r"(?P<day>\d{4}/\d{2}/\d{2})/(?P<time>\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2})-"
                    r"(?P<random>[0-9a-f-]{36})")


def objects(harness: Harness, bucket: str) -> dict[str, dict[str, Any]]:
    """Every object in the bucket, JSON-decoded, by key."""
    s3 = harness.client("s3")
    return {item["Key"]: json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_s3_destination_gets_the_record_and_the_payload(harness: Harness) -> None:
    """AWS: an S3 destination gets the same record plus ``payload``, the invocation
    event as an escaped JSON string, under aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/
    YYYY-MM-DDTHH.MM.SS-<random UUID>."""
    # GIVEN a bucket as the on-failure destination
    harness.client("s3").create_bucket(Bucket="stream-failures")

    # WHEN a batch of two records fails for good
    stream, sequence_numbers = _fail_two_records(harness, "arn:aws:s3:::stream-failures",
                                                 ALWAYS_FAIL)

    # THEN the bucket holds one object under the documented key
    ((key, document),) = objects(harness, "stream-failures").items()
    (mapping,) = harness.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    match = S3_KEY.fullmatch(key)
    assert match, key
    assert match["uuid"] == mapping["UUID"]
    assert match["shard"] == "shardId-000000000000"
    assert (match["day"], match["time"]) == ("2030/01/01", "2030-01-01T00.00.03")
    # AND the object is the SQS record plus the event the function got, as a string
    payload = document.pop("payload")
    assert isinstance(payload, str)
    assert json.loads(payload) == harness.seen("failing")[-1]
    assert document["requestContext"]["approximateInvokeCount"] == 2
    assert document["responseContext"]["functionError"] == "Unhandled"
    assert document["timestamp"] == "2030-01-01T00:00:03.500Z"
    assert document["KinesisBatchInfo"] == {
        "shardId": "shardId-000000000000",
        "startSequenceNumber": sequence_numbers[0],
        "endSequenceNumber": sequence_numbers[1],
        "approximateArrivalOfFirstRecord": "2030-01-01T00:00:00.000Z",
        "approximateArrivalOfLastRecord": "2030-01-01T00:00:01.000Z",
        "batchSize": 2,
        "streamArn": stream,
    }


def test_s3_payload_after_a_partial_failure_holds_the_skipped_records(
        harness: Harness) -> None:
    """The payload is the event of the records the record names (startSequenceNumber
    to endSequenceNumber), as the function received them."""
    # GIVEN a bucket destination and a handler reporting the last record failed
    harness.client("s3").create_bucket(Bucket="stream-failures")

    # WHEN the retries run out
    _, sequence_numbers = _fail_two_records(
        harness, "arn:aws:s3:::stream-failures", REPORT_LAST_FAILED,
        FunctionResponseTypes=["ReportBatchItemFailures"])

    # THEN the payload holds the second record only, shaped as the handler saw it
    (document,) = objects(harness, "stream-failures").values()
    event = json.loads(document["payload"])
    assert event == harness.seen("failing")[-1]
    assert [r["kinesis"]["sequenceNumber"] for r in event["Records"]] == sequence_numbers[1:]
    assert document["responseContext"]["functionError"] is None
