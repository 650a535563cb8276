"""``shardline dlq``: failed batches in the on-failure queue are listed without being
consumed, and replayed from the stream through the aggregator (embedded AWS in-process;
the function is invoked in-process through a Lambda-Invoke-shaped adapter)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from lambdas.aggregator import handler as aggregator_handler
from lambdas.shared.partials import totals_from_partials
from lambdas.shared.telemetry import encode
from shardline import dlq
from shardline.cli import main
from shardline.errors import ShardlineError
from tests.factories.aggregator_env import REGION, aggregator_tables
from tests.factories.dynamodb import scan_items
from tests.factories.kinesis import lambda_context
from tests.factories.telemetry import expected_stats, fleet_records, malformed_json
from tests.support.poison_aggregator import poisoned

STREAM = "telemetry"
QUEUE = "stream-failures"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:aggregator"


class InProcessLambda:
    """The Lambda Invoke API's shape (RequestResponse) over the aggregator's handler (or a
    test wrapper of it)."""

    def __init__(self, handler: Callable[[dict, Any], dict] = aggregator_handler.lambda_handler
                 ) -> None:
        self.handler = handler
        self.events: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        event = json.loads(Payload)
        self.events.append(event)
        try:
            result = self.handler(event, lambda_context())
        except Exception as exc:
            body = {"errorMessage": str(exc), "errorType": type(exc).__name__}
            return {"StatusCode": 200, "FunctionError": "Unhandled",
                    "Payload": io.BytesIO(json.dumps(body).encode())}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    with aggregator_tables(monkeypatch) as dynamodb:
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)
        sqs = boto3.client("sqs", region_name=REGION)
        parked = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
        parked_arn = sqs.get_queue_attributes(
            QueueUrl=parked, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(QueueName=QUEUE, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": parked_arn, "maxReceiveCount": "5"})})
        yield {"dynamodb": dynamodb, "kinesis": kinesis, "sqs": sqs}


def put_records(kinesis, payloads: list[bytes]) -> list[dict[str, str]]:
    return [kinesis.put_record(StreamName=STREAM, Data=data, PartitionKey=f"k{i}")
            for i, data in enumerate(payloads)]


def queue_failure(aws, shard_id: str, start: str, end: str, size: int) -> None:
    """What Lambda sends to the on-failure destination (AWS-SEMANTICS.md)."""
    stream_arn = aws["kinesis"].describe_stream_summary(
        StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    record = {
        "requestContext": {"requestId": "r-1", "functionArn": FUNCTION_ARN,
                           "condition": "RetryAttemptsExhausted",
                           "approximateInvokeCount": 4},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            "functionError": None},
        "version": "1.0",
        "timestamp": "2026-11-23T12:00:00.000Z",
        "KinesisBatchInfo": {"shardId": shard_id, "startSequenceNumber": start,
                             "endSequenceNumber": end,
                             "approximateArrivalOfFirstRecord": "2026-11-23T11:59:00Z",
                             "approximateArrivalOfLastRecord": "2026-11-23T11:59:01Z",
                             "batchSize": size, "streamArn": stream_arn},
    }
    url = aws["sqs"].get_queue_url(QueueName=QUEUE)["QueueUrl"]
    aws["sqs"].send_message(QueueUrl=url, MessageBody=json.dumps(record))


def queued(aws) -> int:
    url = aws["sqs"].get_queue_url(QueueName=QUEUE)["QueueUrl"]
    attributes = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    values = attributes["Attributes"]
    return int(values["ApproximateNumberOfMessages"]) + int(
        values["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def failed_batch(aws):
    """Ten records on the stream; records 3..7 are a batch in the failure queue."""
    records = fleet_records(devices=2, per_device=5)
    puts = put_records(aws["kinesis"], [encode(r) for r in records])
    batch = puts[3:8]
    queue_failure(aws, batch[0]["ShardId"], batch[0]["SequenceNumber"],
                  batch[-1]["SequenceNumber"], len(batch))
    return records[3:8], batch


def test_list_shows_failed_batches_without_consuming_them(aws, failed_batch):
    _, batch = failed_batch
    queue = dlq.FailureQueue(aws["sqs"], QUEUE)

    # WHEN listed twice
    first = queue.peek()
    second = queue.peek()

    # THEN both listings show the batch's shard, sequence range, size and condition
    assert [b.as_row()["start_sequence"] for b in first] == [batch[0]["SequenceNumber"]]
    row = second[0].as_row()
    assert row["shard"] == batch[0]["ShardId"]
    assert row["end_sequence"] == batch[-1]["SequenceNumber"]
    assert (row["batch_size"], row["condition"], row["invoke_count"]) == (
        5, "RetryAttemptsExhausted", 4)
    # AND the message is still queued
    assert queued(aws) == 1


def test_replay_redrives_exactly_the_batch_under_a_replay_segment(aws, failed_batch):
    records, batch = failed_batch
    invoker = InProcessLambda()

    # WHEN the failed batch is replayed
    outcomes = dlq.replay(dlq.FailureQueue(aws["sqs"], QUEUE), aws["kinesis"], invoker)

    # THEN exactly its five records went through one final window invoke
    assert [o.records for o in outcomes] == [5]
    (event,) = invoker.events
    assert event["isFinalInvokeForWindow"] is True
    assert [r["kinesis"]["sequenceNumber"] for r in event["Records"]] == [
        put["SequenceNumber"] for put in batch]
    # AND its partials are the batch's aggregates, under replay-<start sequence number>
    items = scan_items(aws["dynamodb"], "aggregates")
    assert totals_from_partials(items) == expected_stats(records)
    assert {item["segment"] for item in items} == {f"replay-{batch[0]['SequenceNumber']}"}
    # AND the failure is dequeued
    assert queued(aws) == 0


def test_replaying_the_same_batch_twice_rewrites_the_same_items(aws, failed_batch):
    records, batch = failed_batch
    queue = dlq.FailureQueue(aws["sqs"], QUEUE)
    dlq.replay(queue, aws["kinesis"], InProcessLambda())
    first = scan_items(aws["dynamodb"], "aggregates")

    # WHEN the same failure is queued and replayed again
    queue_failure(aws, batch[0]["ShardId"], batch[0]["SequenceNumber"],
                  batch[-1]["SequenceNumber"], len(batch))
    dlq.replay(queue, aws["kinesis"], InProcessLambda())

    # THEN DynamoDB holds the very same items: idempotent
    assert scan_items(aws["dynamodb"], "aggregates") == first
    assert totals_from_partials(first) == expected_stats(records)


def test_replay_quarantines_invalid_records_of_the_batch(aws):
    puts = put_records(aws["kinesis"], [malformed_json(), encode(fleet_records(1, 1)[0])])
    queue_failure(aws, puts[0]["ShardId"], puts[0]["SequenceNumber"],
                  puts[-1]["SequenceNumber"], 2)

    dlq.replay(dlq.FailureQueue(aws["sqs"], QUEUE), aws["kinesis"], InProcessLambda())

    (item,) = scan_items(aws["dynamodb"], "quarantine")
    assert item["sequence_number"] == puts[0]["SequenceNumber"]


def test_a_function_error_during_replay_keeps_the_failure_queued(aws, failed_batch):
    records, _ = failed_batch
    # GIVEN the bug that failed the batch is still there
    still_buggy = poisoned(aggregator_handler.lambda_handler, {records[0].device_id})

    # WHEN replayed THEN a one-line error names the function error, nothing is written
    with pytest.raises(ShardlineError, match="function error replaying"):
        dlq.replay(dlq.FailureQueue(aws["sqs"], QUEUE), aws["kinesis"],
                   InProcessLambda(still_buggy))
    assert scan_items(aws["dynamodb"], "aggregates") == []
    # AND the failure is still queued, visible again for the next replay
    assert len(dlq.FailureQueue(aws["sqs"], QUEUE).peek()) == 1


def test_records_no_longer_in_the_stream_cannot_be_replayed(aws, failed_batch):
    _, batch = failed_batch
    # GIVEN a failure whose records the stream does not hold (trimmed by retention)
    aws["sqs"].purge_queue(QueueUrl=aws["sqs"].get_queue_url(QueueName=QUEUE)["QueueUrl"])
    gone = str(int(batch[-1]["SequenceNumber"]) + 1000)
    queue_failure(aws, batch[0]["ShardId"], gone, str(int(gone) + 4), 5)

    # WHEN replayed THEN the error says the records expired, and it stays queued
    with pytest.raises(ShardlineError, match="expired from the stream"):
        dlq.replay(dlq.FailureQueue(aws["sqs"], QUEUE), aws["kinesis"], InProcessLambda())
    assert queued(aws) == 1


def test_replay_with_nothing_queued_says_so(aws):
    with pytest.raises(ShardlineError, match="no failed batches are queued"):
        dlq.replay(dlq.FailureQueue(aws["sqs"], QUEUE), aws["kinesis"], InProcessLambda())


def test_parse_failure_record_reads_dynamodb_stream_batches_too():
    body = json.dumps({"requestContext": {"condition": "RecordAgeExceeded",
                                          "approximateInvokeCount": 0},
                       "timestamp": "t",
                       "DDBStreamBatchInfo": {"shardId": "s", "startSequenceNumber": "1",
                                              "endSequenceNumber": "2", "batchSize": 2,
                                              "streamArn": "arn"}})
    batch = dlq.parse_failure_record(body, queue="failures", queue_url="u", message_id="m",
                                     receipt_handle="h")
    assert (batch.source, batch.condition, batch.batch_size) == ("dynamodb",
                                                                 "RecordAgeExceeded", 2)


def test_cli_dlq_list_and_replay_of_an_empty_queue(embedded_aws, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    sqs = boto3.client("sqs", endpoint_url=embedded_aws.endpoint_url, region_name=REGION)
    sqs.create_queue(QueueName="cli-failures")
    runner = CliRunner()
    common = ["--queue", "cli-failures", "--endpoint", embedded_aws.endpoint_url]

    listed = runner.invoke(main, ["dlq", "list", *common])
    replayed = runner.invoke(main, ["dlq", "replay", "--yes", *common])
    missing = runner.invoke(main, ["dlq", "list", "--queue", "nope", "--endpoint",
                                   embedded_aws.endpoint_url])

    assert listed.exit_code == 0 and "no failed batches" in listed.output
    assert replayed.exit_code == 2
    assert [line for line in replayed.output.splitlines() if line.strip()] == [
        "error: no failed batches are queued in cli-failures: nothing to replay"]
    assert missing.exit_code == 3 and "not found" in missing.output
