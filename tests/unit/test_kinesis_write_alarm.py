"""The stream-level AWS/Kinesis write metrics, and the write-throttling drill: a flooding
producer makes the alarm on WriteProvisionedThroughputExceeded go to ALARM, and once the
flood stops it returns to OK.

The drill drives the write limits, the metrics publisher and the alarm evaluator on one
virtual clock, a minute per step, so it costs a second instead of three minutes. Its
alarm is the one ``terraform/modules/alarms`` declares as ``kinesis-write-throttled``
(Sum over 60 s, threshold 1, missing data not breaching).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from shardline.local.alarm_evaluator import AlarmEvaluator
from shardline.local.embedded import EmbeddedAws
from shardline.local.kinesis_metric_data import kinesis_metric_data
from shardline.local.kinesis_writes import KinesisWriteLimits, PutOutcome
from shardline.local.metrics_publisher import MetricsPublisher
from shardline.local.scheduling import VirtualClock

T0 = 1_800_000_000.0  # a minute boundary


def _by_name(data: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    return {datum["MetricName"]: datum["StatisticValues"] for datum in data}


def test_stream_metrics_count_written_and_throttled_records_per_put_operation() -> None:
    # GIVEN the puts of a minute: a PutRecords call half throttled, one fully written, a
    # throttled PutRecord, and a put of the next minute
    puts = [PutOutcome(T0 + 1, "telemetry", "PutRecords", 300, 30_000, 200),
            PutOutcome(T0 + 2, "telemetry", "PutRecords", 500, 50_000, 0),
            PutOutcome(T0 + 3, "telemetry", "PutRecord", 0, 0, 1),
            PutOutcome(T0 + 60, "telemetry", "PutRecords", 7, 700, 0)]

    # WHEN the minute's metrics are made
    data = kinesis_metric_data(puts, T0, T0 + 60)

    # THEN each is one statistic set per stream, a sample per put operation
    assert all(d["Dimensions"] == [{"Name": "StreamName", "Value": "telemetry"}]
               for d in data)
    metrics = _by_name(data)
    assert metrics["IncomingRecords"] == {"SampleCount": 2, "Sum": 800, "Minimum": 300,
                                          "Maximum": 500}
    assert metrics["IncomingBytes"]["Sum"] == 80_000
    assert metrics["WriteProvisionedThroughputExceeded"] == {
        "SampleCount": 3, "Sum": 201, "Minimum": 0, "Maximum": 200}
    assert metrics["PutRecords.Success"] == {"SampleCount": 2, "Sum": 2, "Minimum": 1,
                                             "Maximum": 1}
    assert metrics["PutRecords.ThrottledRecords"]["Sum"] == 200
    assert metrics["PutRecords.TotalRecords"]["Sum"] == 1000
    assert metrics["PutRecord.Success"] == {"SampleCount": 1, "Sum": 0, "Minimum": 0,
                                            "Maximum": 0}
    assert "PutRecord.Bytes" not in metrics  # nothing was written by PutRecord
    # AND a minute without puts has none (missing data)
    assert kinesis_metric_data(puts, T0 + 120, T0 + 180) == []


@pytest.fixture
def clients(embedded_aws: EmbeddedAws) -> Callable[[str], Any]:
    return lambda service: boto3.client(service, endpoint_url=embedded_aws.endpoint_url,
                                        region_name="us-east-1")


@pytest.fixture
def limits(embedded_aws: EmbeddedAws) -> Iterator[KinesisWriteLimits]:
    assert embedded_aws.kinesis_writes is not None
    yield embedded_aws.kinesis_writes
    embedded_aws.kinesis_writes.disable()


def _alarm_topic(clients: Callable[[str], Any], suffix: str) -> tuple[str, str]:
    """An alarm topic and a queue subscribed to it (the notifications' inbox)."""
    sqs, sns = clients("sqs"), clients("sns")
    inbox = sqs.create_queue(QueueName=f"inbox-{suffix}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    topic = sns.create_topic(Name=f"alarms-{suffix}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs",
                  Endpoint=inbox_arn["Attributes"]["QueueArn"])
    return topic, inbox


def _notified(clients: Callable[[str], Any], inbox: str) -> list[str]:
    messages = clients("sqs").receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)
    return [json.loads(json.loads(m["Body"])["Message"])["NewStateValue"]
            for m in messages.get("Messages", [])]


def test_flooding_fires_the_write_throttling_alarm_and_it_clears_when_the_flood_stops(
        clients: Callable[[str], Any], limits: KinesisWriteLimits) -> None:
    # GIVEN a one-shard stream whose write limits, metrics and alarms share a virtual
    # clock, and the write-throttling alarm of terraform/modules/alarms on it
    suffix = uuid.uuid4().hex[:8]
    stream = f"telemetry-{suffix}"
    kinesis = clients("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    topic, inbox = _alarm_topic(clients, suffix)
    alarm = f"kinesis-write-throttled-{suffix}"
    clients("cloudwatch").put_metric_alarm(
        AlarmName=alarm, Namespace="AWS/Kinesis", MetricName="WriteProvisionedThroughputExceeded",
        Dimensions=[{"Name": "StreamName", "Value": stream}], Statistic="Sum", Period=60,
        EvaluationPeriods=1, DatapointsToAlarm=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
        AlarmActions=[topic], OKActions=[topic])
    minute = math.floor(time.time() / 60) * 60
    clock = VirtualClock(minute + 1.0)
    limits.enable(clock)
    publisher = MetricsPublisher(clients, deque(), kinesis_puts=limits.puts)
    evaluator = AlarmEvaluator(clients)

    def next_minute() -> None:
        clock.advance_to(clock.now() + 60)
        publisher.step(clock.now())
        evaluator.step(clock.now())

    publisher.step(clock.now())
    evaluator.step(clock.now())
    assert _notified(clients, inbox) == ["OK"]  # evaluated: no data, not breaching

    # WHEN a device floods the shard: 1.2 MiB in one call, where it takes 1 MiB a second
    flood = [{"PartitionKey": "dev-00007", "Data": b"x" * (400 * 1024)}] * 3
    refused = kinesis.put_records(StreamName=stream, Records=flood)["FailedRecordCount"]
    # AND that minute's metrics are published and the alarms evaluated
    next_minute()

    # THEN the last record was refused, and the alarm went to ALARM and notified its topic
    assert refused == 1
    state = clients("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    assert state["StateValue"] == "ALARM"
    assert _notified(clients, inbox) == ["ALARM"]

    # WHEN the flood stops and the device sends small readings for a minute
    for _ in range(6):
        kinesis.put_records(StreamName=stream,
                            Records=[{"PartitionKey": "dev-00007", "Data": b"{}"}] * 2)
        clock.advance_to(clock.now() + 10)
    next_minute()

    # THEN nothing was throttled that minute and the alarm is OK again, notified
    state = clients("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    assert state["StateValue"] == "OK"
    assert _notified(clients, inbox) == ["OK"]
