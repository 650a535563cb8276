"""The events stream mappings hand to a function, field by field, as AWS documents them
(the Lambda developer guide's example events for Kinesis, tumbling windows and DynamoDB
Streams). The audit table in docs/local-runtime.md names the test of each field."""

from __future__ import annotations

import base64
from typing import Any

from tests.conformance.harness import Harness

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

RECORD = """
def lambda_handler(event, context):
    seen(event)
    return {"state": {}}
"""


def _kinesis_event(harness: Harness, **settings: Any) -> tuple[str, list[str], dict[str, Any]]:
    stream = harness.stream("telemetry")
    harness.function("reader", RECORD)
    harness.map(stream, "reader", **settings)
    harness.clock.advance_to(T0 + 0.123456)  # arrival with more than millisecond digits
    sequence_numbers = harness.put(stream, ['{"v":1}'], partition_key="dev-00042")
    harness.start()
    harness.advance(1)
    return stream, sequence_numbers, harness.seen("reader")[0]


def test_a_kinesis_record_has_the_documented_fields(harness: Harness) -> None:
    # GIVEN a record put at T0 + 0.123456 s
    # WHEN it is delivered
    stream, (sequence_number,), event = _kinesis_event(harness)

    # THEN it has exactly the fields of AWS's example, with the arrival as epoch seconds,
    # a number with millisecond precision
    (record,) = event["Records"]
    assert record == {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "dev-00042",
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(b'{"v":1}').decode(),
            "approximateArrivalTimestamp": 1_893_456_000.123,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/conformance",
        "awsRegion": "us-east-1",
        "eventSourceARN": stream,
    }
    assert isinstance(record["kinesis"]["approximateArrivalTimestamp"], float)
    assert list(event) == ["Records"]  # no window fields without a tumbling window


def test_a_tumbling_window_event_has_the_documented_fields(harness: Harness) -> None:
    # GIVEN a 60 s tumbling window
    # WHEN a record is delivered
    stream, _, event = _kinesis_event(harness, TumblingWindowInSeconds=60)

    # THEN beside Records: window start/end to the second in UTC, state, shardId,
    # eventSourceARN and the two flags
    del event["Records"]
    assert event == {
        "window": {"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T00:01:00Z"},
        "state": {},
        "shardId": "shardId-000000000000",
        "eventSourceARN": stream,
        "isFinalInvokeForWindow": False,
        "isWindowTerminatedEarly": False,
    }


def test_dynamodb_approximate_creation_date_time_is_whole_epoch_seconds(
        harness: Harness) -> None:
    # GIVEN a change made at T0 + 0.75 s
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("devices")
    harness.function("reader", RECORD)
    harness.map(stream, "reader")
    harness.clock.advance_to(T0 + 0.75)
    harness.client("dynamodb").put_item(TableName="devices", Item={"pk": {"S": "a"}})

    # WHEN it is delivered
    harness.start()
    harness.advance(1)

    # THEN its creation time is an integer number of seconds (rounded down), and the
    # change carries SizeBytes and StreamViewType, the record eventVersion 1.1
    (record,) = harness.seen("reader")[0]["Records"]
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    assert (created, type(created)) == (int(T0), int)
    assert isinstance(record["dynamodb"]["SizeBytes"], int)
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert (record["eventVersion"], record["eventSource"], record["awsRegion"]) == (
        "1.1", "aws:dynamodb", "us-east-1")
