"""On the embedded AWS, the metrics publisher and the alarm evaluator together make an
alarm on a queue's depth go to ALARM, notify its topic, and return to OK."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from shardline.local.alarm_evaluator import AlarmEvaluator, alarm_states
from shardline.local.embedded import EmbeddedAws
from shardline.local.fault_layer import DynamoDBFault
from shardline.local.metrics_publisher import MetricsPublisher
from tests.factories.alarms import invocation
from tests.factories.dynamodb import create_aggregates_table


@pytest.fixture
def clients(embedded_aws: EmbeddedAws) -> Callable[[str], Any]:
    return lambda service: boto3.client(service, endpoint_url=embedded_aws.endpoint_url,
                                        region_name="us-east-1")


def _queue(clients: Callable[[str], Any], name: str) -> tuple[str, str]:
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def _notifications(clients: Callable[[str], Any], inbox: str) -> list[dict[str, Any]]:
    messages = clients("sqs").receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)
    return [json.loads(json.loads(m["Body"])["Message"])
            for m in messages.get("Messages", [])]


def test_a_queue_depth_alarm_fires_notifies_and_clears(
        clients: Callable[[str], Any]) -> None:
    # GIVEN a failure queue holding two messages, an alarm topic with a subscribed inbox,
    # and an alarm on the queue's depth notifying the topic on ALARM and OK
    suffix = uuid.uuid4().hex[:8]
    failures, _ = _queue(clients, f"failures-{suffix}")
    inbox, inbox_arn = _queue(clients, f"inbox-{suffix}")
    topic = clients("sns").create_topic(Name=f"alarms-{suffix}")["TopicArn"]
    clients("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    for body in ("a", "b"):
        clients("sqs").send_message(QueueUrl=failures, MessageBody=body)
    alarm = f"failures-depth-{suffix}"
    clients("cloudwatch").put_metric_alarm(
        AlarmName=alarm, Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": f"failures-{suffix}"}],
        Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
        AlarmActions=[topic], OKActions=[topic])
    publisher = MetricsPublisher(clients, deque())
    evaluator = AlarmEvaluator(clients)
    now = math.floor(time.time() / 60) * 60 + 1.0

    # WHEN a minute's metrics are published and the alarms evaluated
    publisher.step(now)
    evaluator.step(now)

    # THEN the alarm is in ALARM and CloudWatch's notification reached the topic
    described = clients("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    assert described["StateValue"] == "ALARM"
    [fired] = _notifications(clients, inbox)
    assert (fired["AlarmName"], fired["OldStateValue"], fired["NewStateValue"]) == (
        alarm, "INSUFFICIENT_DATA", "ALARM")
    assert fired["Trigger"]["MetricName"] == "ApproximateNumberOfMessagesVisible"

    # WHEN the queue is emptied and the next minute is published and evaluated
    clients("sqs").purge_queue(QueueUrl=failures)
    publisher.step(now + 60)
    evaluator.step(now + 60)

    # THEN the alarm is OK again and the topic heard of it
    described = clients("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    assert described["StateValue"] == "OK"
    assert [m["NewStateValue"] for m in _notifications(clients, inbox)] == ["OK"]


def test_lambda_metrics_of_the_minute_that_ended_are_published(
        clients: Callable[[str], Any]) -> None:
    # GIVEN an invocation log with a function error in the previous minute
    function = f"arn:aws:lambda:us-east-1:123456789012:function:fn-{uuid.uuid4().hex[:8]}"
    minute = math.floor(time.time() / 60) * 60 - 60
    log = deque([invocation(minute + 5, outcome="error", function=function)])
    # WHEN the publisher steps in the current minute
    MetricsPublisher(clients, log).step(minute + 61)
    # THEN Errors for the function's name reads 1 for that minute
    stats = clients("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": function.rsplit(":", 1)[-1]}],
        StartTime=minute, EndTime=minute + 60, Period=60, Statistics=["Sum"])
    assert [p["Sum"] for p in stats["Datapoints"]] == [1.0]


def test_alarm_states_show_a_new_alarm_as_insufficient_data_until_evaluated(
        clients: Callable[[str], Any]) -> None:
    # GIVEN an alarm just created (moto stores OK; AWS starts at INSUFFICIENT_DATA)
    alarm = f"new-{uuid.uuid4().hex[:8]}"
    clients("cloudwatch").put_metric_alarm(
        AlarmName=alarm, Namespace="shardline", MetricName="BatchHeadFailed",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold")
    # WHEN the states are listed
    rows = {row["name"]: row for row in alarm_states(clients("cloudwatch"))}
    # THEN it is INSUFFICIENT_DATA, with CloudWatch's initial reason
    assert rows[alarm]["state"] == "INSUFFICIENT_DATA"
    assert rows[alarm]["reason"] == "Unchecked: Initial alarm creation"


def test_emf_lines_written_after_the_publisher_started_become_metrics(
        clients: Callable[[str], Any], tmp_path) -> None:
    # GIVEN a function log holding an earlier stack's EMF line, and a publisher over it
    service = f"svc-{uuid.uuid4().hex[:8]}"
    minute = math.floor(time.time() / 60) * 60 - 60

    def emf(value: float) -> str:
        return json.dumps({
            "_aws": {"Timestamp": int((minute + 5) * 1000), "CloudWatchMetrics": [{
                "Namespace": "shardline/test", "Dimensions": [["service"]],
                "Metrics": [{"Name": "RecordsQuarantined", "Unit": "Count"}]}]},
            "service": service, "RecordsQuarantined": value}) + "\n"

    log_file = tmp_path / "aggregator.log"
    log_file.write_text(emf(100.0))
    publisher = MetricsPublisher(clients, deque(), log_dir=tmp_path)
    # WHEN the function prints another EMF line and the publisher steps
    with log_file.open("a") as handle:
        handle.write('{"level": "INFO", "message": "not a metric"}\n' + emf(3.0))
    publisher.step(minute + 61)
    # THEN only the new line's value is in the embedded CloudWatch
    stats = clients("cloudwatch").get_metric_statistics(
        Namespace="shardline/test", MetricName="RecordsQuarantined",
        Dimensions=[{"Name": "service", "Value": service}],
        StartTime=minute, EndTime=minute + 60, Period=60, Statistics=["Sum"])
    assert [p["Sum"] for p in stats["Datapoints"]] == [3.0]


def test_requests_the_embedded_dynamodb_throttled_become_write_throttle_events(
        clients: Callable[[str], Any], embedded_aws: EmbeddedAws) -> None:
    # GIVEN a table whose next PutItem DynamoDB throttles (the fault layer)
    assert embedded_aws.faults is not None
    table = create_aggregates_table(clients("dynamodb"), f"throttled-{uuid.uuid4().hex[:8]}")
    rule = embedded_aws.faults.inject(DynamoDBFault("throttle", operation="PutItem",
                                                    table=table, times=1))
    minute = math.floor(time.time() / 60) * 60
    try:
        # WHEN a write is throttled (the client's retry then succeeds) and the minute is
        # published
        clients("dynamodb").put_item(TableName=table, Item={
            "PK": {"S": "D#dev-1"}, "SK": {"S": "P#1"}})
        publisher = MetricsPublisher(clients, deque(),
                                     throttle_events=embedded_aws.faults.throttle_events)
        publisher.step(minute + 61)
    finally:
        embedded_aws.faults.remove(rule)
    # THEN WriteThrottleEvents of the table reads 1 for that minute
    stats = clients("cloudwatch").get_metric_statistics(
        Namespace="AWS/DynamoDB", MetricName="WriteThrottleEvents",
        Dimensions=[{"Name": "TableName", "Value": table}],
        StartTime=minute, EndTime=minute + 60, Period=60, Statistics=["Sum"])
    assert [p["Sum"] for p in stats["Datapoints"]] == [1.0]


def test_alarms_are_evaluated_once_an_interval_however_often_the_driver_steps(
        clients: Callable[[str], Any]) -> None:
    # GIVEN an alarm, and a count of the data the evaluator asks CloudWatch for
    suffix = uuid.uuid4().hex[:8]
    clients("cloudwatch").put_metric_alarm(
        AlarmName=f"depth-{suffix}", Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": f"q-{suffix}"}], Statistic="Maximum",
        Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold")
    cloudwatch = clients("cloudwatch")
    asked: list[str] = []  # the queue of each request for this alarm's metric
    cloudwatch.meta.events.register(
        "before-parameter-build.monitoring.GetMetricStatistics",
        lambda params, **_: asked.extend(d["Value"] for d in params["Dimensions"]
                                         if d["Value"] == f"q-{suffix}"))
    evaluator = AlarmEvaluator(lambda service: cloudwatch)
    minute = math.floor(time.time() / 60) * 60

    # WHEN a real-time driver steps it every second of a minute and into the next
    for second in range(6, 67):
        evaluator.step(minute + second)

    # THEN the alarm was evaluated once in each interval: 5 s past each boundary
    assert len(asked) == 2


def test_queue_depths_are_sampled_once_a_minute_however_often_the_driver_steps(
        clients: Callable[[str], Any]) -> None:
    # GIVEN a queue, and a count of the depth reads the publisher makes of it
    suffix = uuid.uuid4().hex[:8]
    url, _ = _queue(clients, f"depth-{suffix}")
    sqs, cloudwatch = clients("sqs"), clients("cloudwatch")
    reads: list[str] = []
    sqs.meta.events.register(
        "before-parameter-build.sqs.GetQueueAttributes",
        lambda params, **_: reads.extend([params["QueueUrl"]] if params["QueueUrl"] == url
                                         else []))
    publisher = MetricsPublisher({"sqs": sqs, "cloudwatch": cloudwatch}.__getitem__, deque())
    minute = math.floor(time.time() / 60) * 60

    # WHEN a real-time driver steps it every second of a minute and into the next
    for second in range(1, 62):
        publisher.step(minute + second)

    # THEN the queue's depth was read once for each minute boundary passed
    assert len(reads) == 2


def test_new_alarms_settling_to_ok_are_logged_quietly_and_other_changes_loudly(
        clients: Callable[[str], Any], caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN two new depth alarms (INSUFFICIENT_DATA): one on an empty queue, one on a
    # queue holding a message
    suffix = uuid.uuid4().hex[:8]
    names = {}
    for kind, messages in (("empty", 0), ("full", 1)):
        url, _ = _queue(clients, f"{kind}-{suffix}")
        for _ in range(messages):
            clients("sqs").send_message(QueueUrl=url, MessageBody="x")
        names[kind] = f"{kind}-depth-{suffix}"
        clients("cloudwatch").put_metric_alarm(
            AlarmName=names[kind], Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": f"{kind}-{suffix}"}],
            Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold")
    now = math.floor(time.time() / 60) * 60 + 1.0

    # WHEN a minute's metrics are published and the alarms evaluated
    with caplog.at_level("DEBUG", logger="shardline.alarms"):
        MetricsPublisher(clients, deque()).step(now)
        AlarmEvaluator(clients).step(now)

    # THEN the one settling to OK is logged at DEBUG, the one going to ALARM at INFO
    levels = {name: [r.levelname for r in caplog.records if name in r.getMessage()]
              for name in names.values()}
    assert levels == {names["empty"]: ["DEBUG"], names["full"]: ["INFO"]}
