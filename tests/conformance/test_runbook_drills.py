"""Runbook drills on the virtual clock (docs/runbooks/): an incident makes the alarm the
runbook starts from go to ALARM, the runbook's check sees it, and the fix brings the alarm
back to OK.

Each drill runs the local runtime's own metrics publisher and alarm evaluator as driver
components, so minutes of CloudWatch evaluation cost milliseconds. The alarms are created
through the API with the shape terraform/modules/alarms gives them (statistic, one
60-second period, one evaluation period, ``>=`` threshold, missing-data treatment).
"""

from __future__ import annotations

import time
from typing import Any

from shardline.local.alarm_evaluator import AlarmEvaluator, alarm_states
from shardline.local.fault_layer import DynamoDBFault
from shardline.local.metrics_publisher import MetricsPublisher
from shardline.mappings import DEFAULT_BEHIND_MS, mapping_health
from tests.conformance.harness import Harness

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round minute

# Fails every batch holding a "poison" record until the function's environment says FIXED.
BLOCKS_ON_POISON = """
def lambda_handler(event, context):
    if "poison" in payloads(event) and os.environ.get("FIXED") != "1":
        raise ValueError("cannot process a poison record")
    return {}
"""

# Writes each record to a table (as the aggregator writes its partials): a write DynamoDB
# throttles fails the invocation (no client retry here), and the batch is retried.
WRITES_EACH_RECORD = """
import boto3
from botocore.config import Config

def lambda_handler(event, context):
    table = boto3.client("dynamodb", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                         aws_access_key_id="test", aws_secret_access_key="test",
                         config=Config(retries={"total_max_attempts": 1}))
    for record in event["Records"]:
        table.put_item(TableName=os.environ["TABLE"], Item={
            "pk": {"S": record["kinesis"]["sequenceNumber"]},
            "payload": {"S": base64.b64decode(record["kinesis"]["data"]).decode()}})
    return {}
"""


def _alarm(harness: Harness, name: str, namespace: str, metric: str, statistic: str,
           dimensions: dict[str, str], threshold: float, missing: str) -> str:
    harness.client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace=namespace, MetricName=metric, Statistic=statistic,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        Period=60, EvaluationPeriods=1, DatapointsToAlarm=1, Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData=missing)
    return name


def _state(harness: Harness, alarm: str) -> str:
    rows = alarm_states(harness.client("cloudwatch"))
    return next(row["state"] for row in rows if row["name"] == alarm)


def _watch_alarms(harness: Harness, **publisher: Any) -> None:
    """The stack's CloudWatch part: metrics of each minute, then the alarms on them."""
    harness.engine.driver.add(MetricsPublisher(harness.client, harness.engine.invocation_log,
                                               **publisher))
    harness.engine.driver.add(AlarmEvaluator(harness.client))


def _checks(harness: Harness, function: str) -> list[str]:
    now = harness.clock.now()
    [mapping] = [m for m in mapping_health(harness.client("lambda"), harness.client("cloudwatch"),
                                           prefix=function, since_s=now - 900, now_s=now)]
    return mapping.checks(DEFAULT_BEHIND_MS)


def _first_success(harness: Harness, within_s: int) -> float | None:
    """Advance second by second until an invocation succeeds; when it did (virtual)."""
    for _ in range(within_s):
        done = [call.at for call in harness.engine.invocation_log if call.outcome == "ok"]
        if done:
            return min(done)
        harness.advance(1)
    return None


def test_a_stuck_shard_fires_the_iterator_age_alarm_until_the_fix_is_released(
        harness: Harness) -> None:
    # GIVEN a consumer that fails every batch holding a poison record, retrying without
    # limit (a shard blocked until the bug is fixed), and its iterator-age alarm
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("consumer", BLOCKS_ON_POISON)
    harness.map(stream, "consumer", BatchSize=10, MaximumRetryAttempts=-1,
                MaximumRecordAgeInSeconds=-1)
    alarm = _alarm(harness, "shardline-iterator-age-consumer", "AWS/Lambda", "IteratorAge",
                   "Maximum", {"FunctionName": "consumer"}, 60_000, "notBreaching")
    _watch_alarms(harness)

    # WHEN a poison record arrives and the shard keeps retrying it for three minutes
    harness.put(stream, ["poison", "ok-1"])
    harness.start()
    harness.advance(190)

    # THEN the iterator-age alarm is in ALARM, and `shardline mappings` says the mapping
    # is behind with its iterator age rising
    assert _state(harness, alarm) == "ALARM"
    checks = _checks(harness, "consumer")
    assert "behind: iterator age >= 60000 ms" in checks
    assert "iterator age rising" in checks

    # WHEN the fix is released, the blocked batch goes through and new records flow
    harness.client("lambda").update_function_configuration(
        FunctionName="consumer", Environment={"Variables": {"FIXED": "1"}})
    # (the update reaches the function's next environment: the blocked batch goes through
    # at one of the next retries, however long a busy machine takes to start it)
    assert _first_success(harness, within_s=120) is not None
    harness.advance(61)
    harness.put(stream, ["ok-2"])
    harness.advance(65)

    # THEN the alarm is OK again and the mapping needs no attention
    assert _state(harness, alarm) == "OK"
    assert _checks(harness, "consumer") == []


def test_dynamodb_throttling_fires_its_alarm_and_loses_no_record(harness: Harness) -> None:
    # GIVEN a consumer writing each record to a table, and the table's write-throttle
    # alarm (AWS/DynamoDB: missing data is ignored, whatever the alarm says)
    harness.clock.advance_to(T0)
    faults = harness.aws.faults
    assert faults is not None
    faults.clock = harness.clock.now  # throttles are stamped in virtual time
    stream = harness.stream("telemetry")
    harness.client("dynamodb").create_table(
        TableName="aggregates", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    harness.function("consumer", WRITES_EACH_RECORD, environment={
        "TABLE": "aggregates", "ENDPOINT": harness.aws.endpoint_url})
    harness.map(stream, "consumer", BatchSize=10, MaximumRetryAttempts=-1)
    alarm = _alarm(harness, "shardline-writethrottleevents-aggregates", "AWS/DynamoDB",
                   "WriteThrottleEvents", "Sum", {"TableName": "aggregates"}, 1, "ignore")
    _watch_alarms(harness, throttle_events=faults.throttle_events)

    # WHEN DynamoDB throttles every write to the table for two minutes of traffic
    throttle = faults.inject(DynamoDBFault("throttle", operation="PutItem", table="aggregates"))
    try:
        sequence_numbers = harness.put(stream, [f"reading-{i}" for i in range(5)])
        harness.start()
        harness.advance(120)

        # THEN the throttle alarm is in ALARM and nothing was written yet
        assert _state(harness, alarm) == "ALARM"
        assert throttle.injected > 0
        assert harness.client("dynamodb").scan(TableName="aggregates")["Count"] == 0
    finally:
        faults.remove(throttle)
        faults.clock = time.time

    # WHEN the throttling stops, the retried batch goes through and a minute without
    # throttles is evaluated
    harness.advance(70)

    # THEN every record is in the table (none lost), and the alarm, which ignores the
    # minutes without datapoints, stays in ALARM until the operator resets it
    items = harness.client("dynamodb").scan(TableName="aggregates")["Items"]
    assert sorted(item["pk"]["S"] for item in items) == sorted(sequence_numbers)
    assert _state(harness, alarm) == "ALARM"

    # WHEN the operator resets it (the runbook's last step) and a quiet minute passes
    harness.client("cloudwatch").set_alarm_state(
        AlarmName=alarm, StateValue="OK", StateReason="throttling over, verified")
    harness.advance(65)

    # THEN it stays OK
    assert _state(harness, alarm) == "OK"
