"""DynamoDB stream mappings (AWS-SEMANTICS.md, "DynamoDB Streams" and "Lambda event source
mappings for streams"): the records Lambda delivers, 4 polls a second, partial batch
responses, bisect with an on-failure destination (SQS, S3), tumbling windows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conformance.harness import Harness

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

RECORD = """
def lambda_handler(event, context):
    seen(event)
    return {}
"""


def _item(key: str, value: str) -> dict[str, Any]:
    return {"pk": {"S": key}, "value": {"S": value}}


def _changes(harness: Harness, function: str) -> list[list[tuple[str, str]]]:
    """(eventName, key) of every record, per batch."""
    return [[(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in event["Records"]]
            for event in harness.seen(function)]


def test_insert_modify_remove_arrive_in_order_with_their_images(harness: Harness) -> None:
    # GIVEN a table streaming NEW_AND_OLD_IMAGES and a mapping on it
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices")
    harness.function("sink", RECORD)
    harness.map(stream, "sink", BatchSize=10)
    dynamodb = harness.client("dynamodb")

    # WHEN an item is inserted, modified and removed, with another insert in between
    dynamodb.put_item(TableName="devices", Item=_item("a", "v1"))
    harness.clock.advance_to(T0 + 1)
    dynamodb.put_item(TableName="devices", Item=_item("a", "v2"))
    dynamodb.put_item(TableName="devices", Item=_item("b", "v1"))
    dynamodb.delete_item(TableName="devices", Key={"pk": {"S": "a"}})
    harness.start()
    harness.advance(1)

    # THEN one batch holds the four changes in order, shaped as Lambda delivers them
    (event,) = harness.seen("sink")
    records = event["Records"]
    assert [len(r["eventID"]) for r in records] == [32] * 4
    assert all(r["dynamodb"].pop("SizeBytes") > 0 for r in records)
    sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert sorted(sequence_numbers, key=int) == sequence_numbers

    def expected(name: str, key: str, created: float, new: str | None, old: str | None,
                 sequence_number: str) -> dict[str, Any]:
        change: dict[str, Any] = {"ApproximateCreationDateTime": int(created),
                                  "Keys": {"pk": {"S": key}}}
        if new:
            change["NewImage"] = _item(key, new)
        if old:
            change["OldImage"] = _item(key, old)
        change.update(SequenceNumber=sequence_number, StreamViewType="NEW_AND_OLD_IMAGES")
        return {"eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1", "dynamodb": change, "eventSourceARN": stream}

    assert [{k: v for k, v in r.items() if k != "eventID"} for r in records] == [
        expected("INSERT", "a", T0, "v1", None, sequence_numbers[0]),
        expected("MODIFY", "a", T0 + 1, "v2", "v1", sequence_numbers[1]),
        expected("INSERT", "b", T0 + 1, "v1", None, sequence_numbers[2]),
        expected("REMOVE", "a", T0 + 1, None, "v2", sequence_numbers[3]),
    ]


@pytest.mark.parametrize(("view_type", "images"), [
    ("KEYS_ONLY", []),
    ("NEW_IMAGE", ["NewImage"]),
    ("OLD_IMAGE", ["OldImage"]),
])
def test_stream_view_type_decides_the_images(harness: Harness, view_type: str,
                                             images: list[str]) -> None:
    # GIVEN a table streaming one view type
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices", view_type=view_type)
    harness.function("sink", RECORD)
    harness.map(stream, "sink")

    # WHEN an item is modified
    dynamodb = harness.client("dynamodb")
    dynamodb.put_item(TableName="devices", Item=_item("a", "v1"))
    dynamodb.put_item(TableName="devices", Item=_item("a", "v2"))
    harness.start()
    harness.advance(0.5)

    # THEN the MODIFY record carries just the images the view type names
    modify = harness.seen("sink")[0]["Records"][1]["dynamodb"]
    assert sorted(k for k in modify if k.endswith("Image")) == images
    assert modify["StreamViewType"] == view_type


def test_shards_are_polled_four_times_a_second(harness: Harness) -> None:
    # GIVEN a DynamoDB stream mapping
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices")
    harness.function("sink", RECORD)
    harness.map(stream, "sink")

    # WHEN an item changes 0.3 s into a 2 s run
    harness.start()
    harness.advance(0.3)
    harness.client("dynamodb").put_item(TableName="devices", Item=_item("a", "v1"))
    harness.advance(1.7)

    # THEN the shard was polled at 0, 0.25, ..., 2 s and the change delivered at 0.5 s
    (consumer,) = harness.engine.consumers()
    assert consumer.polls == 9
    assert [round(i.at - T0, 3) for i in harness.engine.invocation_log] == [0.5]


REPORT_B_ONCE = """
reported = []

def lambda_handler(event, context):
    seen(event)
    for record in event["Records"]:
        if record["dynamodb"]["Keys"]["pk"]["S"] == "b" and not reported:
            reported.append(1)
            return {"batchItemFailures": [
                {"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}
"""


def test_partial_batch_response_by_sequence_number(harness: Harness) -> None:
    # GIVEN ReportBatchItemFailures and a handler that reports item b's change once
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices")
    harness.function("partial", REPORT_B_ONCE)
    harness.map(stream, "partial", BatchSize=10,
                FunctionResponseTypes=["ReportBatchItemFailures"])
    for key in ["a", "b", "c"]:
        harness.client("dynamodb").put_item(TableName="devices", Item=_item(key, "v1"))

    # WHEN the engine runs
    harness.start()
    harness.advance(1)

    # THEN the retry starts at b's change
    assert _changes(harness, "partial") == [
        [("INSERT", "a"), ("INSERT", "b"), ("INSERT", "c")],
        [("INSERT", "b"), ("INSERT", "c")],
    ]


FAIL_ON_POISON = """
def lambda_handler(event, context):
    seen(event)
    if any(r["dynamodb"]["Keys"]["pk"]["S"] == "poison" for r in event["Records"]):
        raise ValueError("poison item")
    return {}
"""


def test_bisect_isolates_a_poison_change_and_the_destination_gets_its_batch_info(
        harness: Harness) -> None:
    # GIVEN 4 changes, the third poisonous, bisect on, one retry, an SQS destination
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices")
    queue_url, queue_arn = harness.queue("failures")
    harness.function("poison", FAIL_ON_POISON)
    harness.map(stream, "poison", BatchSize=4, BisectBatchOnFunctionError=True,
                MaximumRetryAttempts=1,
                DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    for key in ["a", "b", "poison", "d"]:
        harness.client("dynamodb").put_item(TableName="devices", Item=_item(key, "v1"))

    # WHEN the engine runs
    harness.start()
    harness.advance(2)

    # THEN the batch was halved down to the poison change, retried once, skipped
    assert [[key for _, key in batch] for batch in _changes(harness, "poison")] == [
        ["a", "b", "poison", "d"], ["a", "b"], ["poison", "d"], ["poison"], ["poison"], ["d"],
    ]
    # AND the destination got the documented record with DDBStreamBatchInfo
    poison_sequence = harness.seen("poison")[3]["Records"][0]["dynamodb"]["SequenceNumber"]
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                          "functionError": "Unhandled"}
    assert failure["version"] == "1.0"
    assert failure["timestamp"] == "2030-01-01T00:00:00.500Z"
    assert failure["DDBStreamBatchInfo"] == {
        "shardId": harness.client("dynamodbstreams").describe_stream(StreamArn=stream)
        ["StreamDescription"]["Shards"][0]["ShardId"],
        "startSequenceNumber": poison_sequence,
        "endSequenceNumber": poison_sequence,
        # stream records are stamped to the second: no milliseconds (AWS's example)
        "approximateArrivalOfFirstRecord": "2030-01-01T00:00:00Z",
        "approximateArrivalOfLastRecord": "2030-01-01T00:00:00Z",
        "batchSize": 1,
        "streamArn": stream,
    }
    assert "KinesisBatchInfo" not in failure


COUNT = """
def lambda_handler(event, context):
    seen(event)
    if event["isFinalInvokeForWindow"]:
        return {"state": {}}
    return {"state": {"count": event["state"].get("count", 0) + len(event["Records"])}}
"""


def test_tumbling_windows_on_a_dynamodb_stream(harness: Harness) -> None:
    # GIVEN a 10 s tumbling window on a DynamoDB stream mapping
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices")
    harness.function("counter", COUNT)
    harness.map(stream, "counter", BatchSize=2, TumblingWindowInSeconds=10)
    for key in ["a", "b", "c"]:
        harness.client("dynamodb").put_item(TableName="devices", Item=_item(key, "v1"))

    # WHEN the engine runs past the window
    harness.start()
    harness.advance(10.5)

    # THEN the window's batches carried the state and its final invoke closed it
    calls = [(len(e["Records"]), e["state"], e["isFinalInvokeForWindow"])
             for e in harness.seen("counter")]
    assert calls == [(2, {}, False), (1, {"count": 2}, False), (0, {"count": 3}, True)]
    final = harness.seen("counter")[-1]
    assert final["window"] == {"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T00:00:10Z"}
    assert final["eventSourceARN"] == stream
    assert final["shardId"].startswith("shardId-")


def test_an_s3_destination_gets_the_record_and_the_changes(harness: Harness) -> None:
    # GIVEN a poison change, no retries, a bucket as the on-failure destination
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices")
    s3 = harness.client("s3")
    s3.create_bucket(Bucket="stream-failures")
    harness.function("poison", FAIL_ON_POISON)
    uuid = harness.map(stream, "poison", BatchSize=1, MaximumRetryAttempts=0,
                       DestinationConfig={"OnFailure": {"Destination":
                                                        "arn:aws:s3:::stream-failures"}})
    harness.client("dynamodb").put_item(TableName="devices", Item=_item("poison", "v1"))

    # WHEN the engine runs
    harness.start()
    harness.advance(1)

    # THEN one object under aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/<time>-<UUID>
    shard = harness.client("dynamodbstreams").describe_stream(StreamArn=stream)[
        "StreamDescription"]["Shards"][0]["ShardId"]
    (item,) = s3.list_objects_v2(Bucket="stream-failures")["Contents"]
    prefix = f"aws/lambda/{uuid}/{shard}/2030/01/01/2030-01-01T00.00.00-"
    assert item["Key"].startswith(prefix)
    assert len(item["Key"]) == len(prefix) + 36
    # AND the object holds the record with DDBStreamBatchInfo and the event as a string
    document = json.loads(s3.get_object(Bucket="stream-failures", Key=item["Key"])["Body"].read())
    assert json.loads(document.pop("payload")) == harness.seen("poison")[0]
    assert set(document) == {"requestContext", "responseContext", "version", "timestamp",
                             "DDBStreamBatchInfo"}
    assert document["DDBStreamBatchInfo"]["batchSize"] == 1
    assert document["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"] == \
        "2030-01-01T00:00:00Z"
