"""Alarms fire locally: a poison record sends its batch to the stream failure queue, the
failure-queue alarm Terraform created goes to ALARM and notifies the alarm topic, and once
the bug is fixed and `shardline dlq replay` has emptied the queue, it returns to OK.

The stack's own metrics publisher and alarm evaluator run once a minute on its clock
(CloudWatch's standard resolution: SQS and Lambda metrics are one-minute metrics, so a
shorter period would not be faithful); each state change is waited for with a bound of a
little over two evaluations.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from lambdas.shared import telemetry
from producers.publisher import KinesisPublisher
from shardline.cli import main
from shardline.local.stack import LocalStack, project_root
from tests.factories.telemetry import telemetry_record
from tests.integration.accounting import ANCHOR_S
from tests.support.deploy import WrappedFunction
from tests.support.poison_aggregator import POISON_DEVICES_VARIABLE

POISON_DEVICE = "dev-alarm-poison"
STATE_WAIT_S = 150.0  # two evaluations (one a minute) and their delay


@pytest.fixture
def aggregator_drill(stack: LocalStack) -> Iterator[WrappedFunction]:
    drill = WrappedFunction(stack.client("lambda"), str(stack.outputs["aggregator_function_name"]),
                            "aggregator", "tests.support.poison_aggregator", project_root())
    yield drill
    drill.restore()


@pytest.fixture
def alarm_inbox(stack: LocalStack) -> str:
    """A queue subscribed to the alarm topic (its policy lets the topic send)."""
    sqs, topic = stack.client("sqs"), str(stack.outputs["alarm_topic_arn"])
    url = sqs.create_queue(QueueName=f"alarm-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    queue_arn = arn["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    stack.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return url


def _state(stack: LocalStack, alarm: str) -> dict[str, Any]:
    rows = json.loads(CliRunner().invoke(main, ["local", "alarms", "--format", "json"],
                                         env={"SHARDLINE_STATE_DIR": str(stack.dir)}).stdout)
    return next(row for row in rows if row["name"] == alarm)


def _wait_for_state(stack: LocalStack, alarm: str, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + STATE_WAIT_S
    row = _state(stack, alarm)
    while row["state"] != wanted and time.monotonic() < deadline:
        time.sleep(2)
        row = _state(stack, alarm)
    return row


def _notifications(stack: LocalStack, inbox: str, alarm: str) -> list[dict[str, Any]]:
    """The alarm's notifications received since the last call (taken off the inbox)."""
    sqs, found = stack.client("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return [m for m in found if m["AlarmName"] == alarm]
        found += [json.loads(json.loads(m["Body"])["Message"]) for m in messages]
        sqs.delete_message_batch(QueueUrl=inbox, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])


def test_a_poison_record_fires_the_failure_queue_alarm_and_replay_clears_it(
        stack: LocalStack, aggregator_drill: WrappedFunction, alarm_inbox: str) -> None:
    alarm = str(stack.outputs["alarm_names"]["depth-stream_failures"])
    # GIVEN an aggregator with a bug that crashes on one device's records
    aggregator_drill.deploy({POISON_DEVICES_VARIABLE: POISON_DEVICE})

    # WHEN a poison record is produced and its batch exhausts its retries
    start_ms = (ANCHOR_S - 5 * 3600) // 60 * 60 * 1000
    poison = telemetry_record(POISON_DEVICE, ts=start_ms, seq=1)
    publisher = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
    publisher.publish([(POISON_DEVICE, telemetry.encode(poison), poison)])
    stack.wait_until_idle(timeout_s=240)

    # THEN the failure-queue alarm goes to ALARM, and CloudWatch's notification reaches
    # the alarm topic
    fired = _wait_for_state(stack, alarm, "ALARM")
    assert fired["state"] == "ALARM", fired
    assert "Threshold Crossed" in fired["reason"]
    alarmed = _notifications(stack, alarm_inbox, alarm)
    assert [m["NewStateValue"] for m in alarmed][-1:] == ["ALARM"]
    assert alarmed[-1]["Trigger"]["MetricName"] == "ApproximateNumberOfMessagesVisible"

    # WHEN the bug is fixed and `shardline dlq replay` empties the failure queue
    aggregator_drill.restore()
    replay = CliRunner().invoke(main, ["dlq", "replay", "--yes", "--endpoint",
                                       stack.endpoint_url])
    assert replay.exit_code == 0, replay.output
    stack.wait_until_idle(timeout_s=120)

    # THEN the alarm returns to OK, and the topic hears of it
    cleared = _wait_for_state(stack, alarm, "OK")
    assert cleared["state"] == "OK", cleared
    assert [m["NewStateValue"] for m in _notifications(stack, alarm_inbox, alarm)] == ["OK"]
