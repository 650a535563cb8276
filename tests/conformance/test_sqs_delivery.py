"""SQS mappings delivering: who takes the messages, the event's shape, BatchSize,
MaximumBatchingWindowInSeconds, deletion on success, MaximumConcurrency
(AWS-SEMANTICS.md, "Lambda invocation": SQS trigger; Lambda's SQS guide)."""

from __future__ import annotations

import hashlib

import pytest

from shardline.local.sqs_records import SqsInvocation
from tests.conformance.harness import Harness

RECORDS_BODIES = """
def lambda_handler(event, context):
    seen(event)
    return {}
"""


def sqs_invocations(harness: Harness) -> list[SqsInvocation]:
    return [i for i in harness.engine.invocation_log if isinstance(i, SqsInvocation)]


def bodies(event: dict) -> list[str]:
    return [record["body"] for record in event["Records"]]


def test_a_message_stays_in_the_queue_until_shardlines_consumer_takes_it(
        harness: Harness) -> None:
    # GIVEN a queue mapped to a function (moto would receive, invoke and delete by itself)
    queue_url, queue_arn = harness.queue("readings")
    harness.function("reader", RECORDS_BODIES)
    harness.map_queue(queue_arn, "reader")

    # WHEN a message is sent while the engine is not running
    harness.send(queue_url, ["r-1"])

    # THEN it waits in the queue, never received, and no function ran
    assert harness.queue_counts(queue_url) == {"visible": 1, "in_flight": 0}
    assert harness.seen("reader") == []

    # WHEN the engine runs
    harness.start()
    harness.advance(1)

    # THEN shardline's consumer delivers it as its first receive, and deletes it
    (event,) = harness.seen("reader")
    assert bodies(event) == ["r-1"]
    assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1"
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}


def test_the_event_carries_each_message_as_lambda_shapes_it(harness: Harness) -> None:
    # GIVEN a message with a string, a number and a binary message attribute
    queue_url, queue_arn = harness.queue("readings")
    harness.function("reader", RECORDS_BODIES)
    harness.map_queue(queue_arn, "reader")
    body = '{"device_id": "dev-00042", "temperature_c": 21.4}'
    (message_id,) = harness.send(queue_url, [body], MessageAttributes={
        "site": {"DataType": "String", "StringValue": "plant-a"},
        "seq": {"DataType": "Number", "StringValue": "917"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    })

    # WHEN it is delivered
    harness.start()
    harness.advance(1)

    # THEN the record has exactly Lambda's SQS fields
    (event,) = harness.seen("reader")
    (record,) = event["Records"]
    attributes = record.pop("attributes")
    receipt_handle = record.pop("receiptHandle")
    md5_of_attributes = record.pop("md5OfMessageAttributes")
    assert record == {
        "messageId": message_id,
        "body": body,
        "messageAttributes": {
            "site": {"stringValue": "plant-a", "stringListValues": [],
                     "binaryListValues": [], "dataType": "String"},
            "seq": {"stringValue": "917", "stringListValues": [],
                    "binaryListValues": [], "dataType": "Number"},
            "raw": {"binaryValue": "AAH/", "stringListValues": [],
                    "binaryListValues": [], "dataType": "Binary"},
        },
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }
    assert receipt_handle and isinstance(receipt_handle, str)
    assert len(md5_of_attributes) == 32
    assert set(attributes) == {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                               "ApproximateFirstReceiveTimestamp"}
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SenderId"]
    assert int(attributes["ApproximateFirstReceiveTimestamp"]) >= int(
        attributes["SentTimestamp"])


def test_batches_hold_at_most_batch_size_messages(harness: Harness) -> None:
    # GIVEN 25 messages and a mapping with the default BatchSize (10) and no window
    queue_url, queue_arn = harness.queue("readings")
    harness.function("reader", RECORDS_BODIES)
    harness.map_queue(queue_arn, "reader")
    sent = [f"r-{i:02d}" for i in range(25)]
    harness.send(queue_url, sent)
    started = harness.clock.now()

    # WHEN the engine runs for a second
    harness.start()
    harness.advance(1)

    # THEN the queue was drained at once in batches of 10, 10 and 5
    assert [bodies(event) for event in harness.seen("reader")] == [
        sent[:10], sent[10:20], sent[20:]]
    assert [i.at for i in sqs_invocations(harness)] == pytest.approx([started] * 3, abs=0.01)


def test_a_successful_batch_is_deleted(harness: Harness) -> None:
    # GIVEN a queue with a short visibility timeout and a function that succeeds
    queue_url, queue_arn = harness.queue("readings", VisibilityTimeout="4")
    harness.function("reader", RECORDS_BODIES)
    harness.map_queue(queue_arn, "reader")
    message_ids = harness.send(queue_url, ["r-1", "r-2", "r-3"])

    # WHEN the batch succeeds and the visibility timeout passes several times over
    harness.start()
    harness.advance(10)

    # THEN the messages were delivered once and are gone from the queue
    assert [bodies(event) for event in harness.seen("reader")] == [["r-1", "r-2", "r-3"]]
    (invocation,) = sqs_invocations(harness)
    assert invocation.outcome == "ok"
    assert invocation.message_ids == tuple(message_ids)
    assert invocation.failed_message_ids == ()
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}


def test_a_batch_of_more_than_ten_is_gathered_over_the_batching_window(
        harness: Harness) -> None:
    # GIVEN BatchSize 25 with a 5-second batching window (AWS requires >= 1 s above 10)
    queue_url, queue_arn = harness.queue("readings")
    harness.function("reader", RECORDS_BODIES)
    harness.map_queue(queue_arn, "reader", BatchSize=25, MaximumBatchingWindowInSeconds=5)
    first = [f"a-{i:02d}" for i in range(12)]
    harness.send(queue_url, first)
    started = harness.clock.now()

    # WHEN 12 messages are there for 3 seconds
    harness.start()
    harness.advance(3)

    # THEN nothing is invoked yet: the batch is neither full nor past its window
    assert harness.seen("reader") == []

    # WHEN 13 more arrive
    second = [f"b-{i:02d}" for i in range(13)]
    harness.send(queue_url, second)
    harness.advance(1)

    # THEN the next poll fills the batch and all 25 go in one invocation, before the window
    assert [bodies(event) for event in harness.seen("reader")] == [first + second]
    assert sqs_invocations(harness)[0].at == pytest.approx(started + 4, abs=0.01)

    # WHEN only 3 more arrive
    harness.send(queue_url, ["c-0", "c-1", "c-2"])
    harness.advance(15)

    # THEN the poll right after the full batch (at 4 s) receives them and they are invoked
    # when the window it opened ends, not full
    assert [bodies(event) for event in harness.seen("reader")][1:] == [["c-0", "c-1", "c-2"]]
    assert sqs_invocations(harness)[1].at == pytest.approx(started + 4 + 5, abs=0.01)
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}


def test_maximum_concurrency_runs_batches_side_by_side(harness: Harness) -> None:
    # GIVEN a function whose invocations wait for each other (they fail if run one at a
    # time) and a mapping allowing 2 concurrent batches
    queue_url, queue_arn = harness.queue("readings")
    harness.function("pair", """
import threading
BOTH_RUNNING = threading.Barrier(2, timeout=5)

def lambda_handler(event, context):
    seen(event)
    BOTH_RUNNING.wait()
    return {}
""", timeout=10)
    harness.map_queue(queue_arn, "pair", ScalingConfig={"MaximumConcurrency": 2})
    sent = [f"r-{i:02d}" for i in range(20)]
    harness.send(queue_url, sent)

    # WHEN the engine runs
    harness.start()
    harness.advance(1)

    # THEN two batches of 10 ran at the same time and both succeeded
    invocations = sqs_invocations(harness)
    assert [i.outcome for i in invocations] == ["ok", "ok"]
    assert [i.batch_size for i in invocations] == [10, 10]
    assert sorted(b for event in harness.seen("pair") for b in bodies(event)) == sent
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}


def test_a_disabled_mapping_takes_nothing(harness: Harness) -> None:
    # GIVEN a disabled mapping
    queue_url, queue_arn = harness.queue("readings")
    harness.function("reader", RECORDS_BODIES)
    harness.map_queue(queue_arn, "reader", Enabled=False)
    harness.send(queue_url, ["r-1"])

    # WHEN the engine runs
    harness.start()
    harness.advance(5)

    # THEN the message is still waiting
    assert harness.seen("reader") == []
    assert harness.queue_counts(queue_url) == {"visible": 1, "in_flight": 0}
