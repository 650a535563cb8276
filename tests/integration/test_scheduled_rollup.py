"""The scheduled rollup on the embedded stack: Terraform's EventBridge rule targets it,
and the 5-minute and hourly roll-ups it writes per device, per site and for the fleet
equal the producer's ground truth exactly, stay put when it runs again, and follow late
data (which re-marks its hour). Its pending-hour markers spread over several partitions;
a device that changes site within a minute counts in each site with its share."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner

from lambdas.shared import telemetry
from lambdas.shared.aggregates import BucketKey, Stats, hour_label, total_item
from lambdas.shared.dynamo import batch_write, read_items
from lambdas.shared.markers import pending_marker_item, pending_partition_keys, pending_shard
from producers.fleet import FleetConfig
from producers.manifest import Manifest
from producers.publisher import KinesisPublisher
from producers.simulate import run_simulation
from shardline.cli import main
from shardline.local.stack import LocalStack
from shardline.query import query
from shardline.query.timerange import label as iso_label
from tests.factories.telemetry import telemetry_record
from tests.integration.accounting import hours_back_s
from tests.support.http_api import send

# Event times twelve hours back, from minute 55 of that hour for 15 minutes: two whole
# hours and three 5-minute periods no other test writes to (see accounting.py).
HOURS_BACK = 12
DURATION_S = 900
Rollups = dict[tuple[str, str], tuple[Any, ...]]


def _start_s() -> int:
    return hours_back_s(HOURS_BACK) + 55 * 60


def _utc(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _run(stack: LocalStack, *hours: str) -> dict[str, Any]:
    """`shardline rollup run` through the Lambda Invoke API; its summary."""
    args = ["rollup", "run", "--function", str(stack.outputs["scheduled_rollup_function_name"]),
            "--endpoint", stack.endpoint_url]
    for hour in hours:
        args += ["--hour", hour]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expected_rollups(manifest: Manifest) -> Rollups:
    """Roll-ups computed from the manifest's per-minute ground truth, independently of
    the function: (PK, SK) → (devices, count, sum, min, max, sumsq)."""
    groups: dict[tuple[str, str], tuple[Stats, set[str]]] = {}
    for (device, metric, bucket), stats in manifest.cells.items():
        site = manifest.sites[device]
        for resolution, prefix, fmt in ((300, "R5#", "%Y-%m-%dT%H:%M"),
                                        (3600, "R60#", "%Y-%m-%dT%H")):
            sort_key = prefix + time.strftime(fmt, time.gmtime(bucket - bucket % resolution))
            for partition in (f"DM#{device}#{metric}", f"SM#{site}#{metric}", f"FM#{metric}"):
                merged, devices = groups.setdefault((partition, sort_key),
                                                    (Stats(0, Decimal(0), stats.minimum,
                                                           stats.maximum, Decimal(0)), set()))
                merged.merge(stats)
                devices.add(device)
    return {key: (len(devices), s.count, s.total, s.minimum, s.maximum, s.sum_squares)
            for key, (s, devices) in groups.items()}


def expected(*values: str, devices: int) -> tuple[Any, ...]:
    """A roll-up as ``rollups_of`` reads it, of ``devices`` devices' ``values``."""
    stats = Stats.of(Decimal(values[0]))
    for value in values[1:]:
        stats.add(Decimal(value))
    return (devices, stats.count, stats.total, stats.minimum, stats.maximum, stats.sum_squares)


def rollups_of(stack: LocalStack, hours: Iterable[int]) -> Rollups:
    """Every roll-up item of the given hours (epoch s of their starts) in the table."""
    wanted = set(hours)
    items = read_items(stack.client("dynamodb"), "scan",
                       TableName=str(stack.outputs["aggregates_table_name"]),
                       FilterExpression="kind = :kind",
                       ExpressionAttributeValues={":kind": {"S": "rollup"}})
    return {(item["PK"], item["SK"]): (int(item["devices"]), int(item["count"]), item["sum"],
                                       item["min"], item["max"], item["sumsq"])
            for item in items if int(item["period"]) // 3600 * 3600 in wanted}


def pending_markers(stack: LocalStack) -> set[tuple[str, str]]:
    """(partition, hour) of every pending-hour marker, from every marker shard."""
    markers = set()
    for partition in pending_partition_keys():
        items = read_items(stack.client("dynamodb"), "query",
                           TableName=str(stack.outputs["aggregates_table_name"]),
                           KeyConditionExpression="PK = :pk",
                           ExpressionAttributeValues={":pk": {"S": partition}},
                           ConsistentRead=True)
        markers |= {(partition, str(item["SK"])) for item in items}
    return markers


def pending_hours(stack: LocalStack) -> set[str]:
    return {hour for _, hour in pending_markers(stack)}


def test_terraform_created_the_five_minute_schedule(stack: LocalStack) -> None:
    # GIVEN the stack applied from envs/local.tfvars
    events = stack.client("events")
    rule = events.describe_rule(Name=str(stack.outputs["scheduled_rollup_rule_name"]))
    # WHEN its rule and targets are read through the EventBridge API
    targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    # THEN it fires every 5 minutes, into the scheduled-rollup function
    assert rule["ScheduleExpression"] == "rate(5 minutes)"
    assert rule["State"] == "ENABLED"
    assert [target["Arn"] for target in targets] == [
        stack.outputs["function_alias_arns"]["scheduled_rollup"]]
    # AND the engine drives that rule
    assert stack.engine is not None
    stack.engine.schedules.discover(time.time())
    assert rule["Arn"] in {r.arn for r in stack.engine.schedules.rules}


@pytest.fixture
def schedule_paused(stack: LocalStack) -> Iterator[None]:
    """The scheduled rollup's EventBridge rule disabled (as an operator would, through the
    EventBridge API) so that only the test runs it; enabled again afterwards."""
    events, name = stack.client("events"), str(stack.outputs["scheduled_rollup_rule_name"])
    arn = events.describe_rule(Name=name)["Arn"]
    assert stack.engine is not None
    events.disable_rule(Name=name)
    deadline = time.monotonic() + 30
    while arn in {rule.arn for rule in stack.engine.schedules.rules}:
        assert time.monotonic() < deadline, "the engine kept driving a disabled rule"
        time.sleep(0.2)
    yield
    events.enable_rule(Name=name)


def test_rollups_equal_the_ground_truth_and_follow_late_data(
        stack: LocalStack, schedule_paused: None) -> None:
    # GIVEN a fleet's telemetry over two hours, five hours back, drained into minute totals
    start_s = _start_s()
    hours = [start_s // 3600 * 3600, start_s // 3600 * 3600 + 3600]
    labels = [hour_label(hour) for hour in hours]
    fleet = FleetConfig(devices=6, rate_hz=0.5, duration_s=DURATION_S, seed=29, sites=3,
                        start_ms=start_s * 1000)
    publisher = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
    result = run_simulation(fleet, publisher, paced=False)
    stack.wait_until_idle(timeout_s=240)
    expected = expected_rollups(result.manifest)
    assert {key[1] for key in expected if key[0].startswith("FM#")} == {
        f"R5#{labels[0]}:55", f"R5#{labels[1]}:00", f"R5#{labels[1]}:05",
        f"R60#{labels[0]}", f"R60#{labels[1]}"}
    # ... and the stream rollup marked both hours pending, each in the marker shard of
    # every device with data in it: several partitions, not one
    shards = {f"RU#PENDING#{pending_shard(device)}" for device in result.manifest.sites}
    assert len(shards) > 1
    for label in labels:
        assert {p for p, hour in pending_markers(stack) if hour == label} == shards

    # WHEN the scheduled rollup runs
    summary = _run(stack)

    # THEN both hours were processed and their markers deleted
    assert set(labels) <= set(summary["hours_processed"])
    assert not set(labels) & pending_hours(stack)
    # AND every device, site and fleet roll-up equals the ground truth exactly
    assert rollups_of(stack, hours) == expected
    # AND the query API reads them back: the fleet per hour, plant-a per 5 minutes
    table, dynamodb = str(stack.outputs["aggregates_table_name"]), stack.client("dynamodb")
    fleet_hours = query(fleet=True, metrics="temperature_c", resolution="1h",
                        since=_utc(hours[0]), until=_utc(hours[1] + 3600), table=table,
                        client=dynamodb)
    assert [(row.time, row.devices, row.count, row.source) for row in fleet_hours] == [
        (_utc(hour), 6, expected[("FM#temperature_c", f"R60#{label}")][1], "rollup")
        for hour, label in zip(hours, labels, strict=True)]
    plant_a = query(site="plant-a", metrics="temperature_c", resolution="5m",
                    since=_utc(start_s), until=_utc(start_s + DURATION_S), table=table,
                    client=dynamodb)
    assert [(row.time.strftime("R5#%Y-%m-%dT%H:%M"), row.count, row.sum) for row in plant_a] == [
        (sort_key, value[1], value[2]) for (partition, sort_key), value in sorted(expected.items())
        if partition == "SM#plant-a#temperature_c" and sort_key.startswith("R5#")]
    assert len(plant_a) == 3
    # AND so does the HTTP API, for an analyst signing with SigV4 (the analyst policy)
    answer = send(str(stack.api_url), "/query?" + urlencode({
        "site": "plant-a", "metric": "temperature_c", "resolution": "5m",
        "since": iso_label(start_s), "until": iso_label(start_s + DURATION_S)}),
        signer=analyst_keys(stack))
    assert answer.status == 200 and answer.json() == json.loads(plant_a.to_json())

    # WHEN it runs again, on schedule and as a backfill of the same hours
    again = _run(stack)
    backfill = _run(stack, *labels)
    # THEN nothing is pending for those hours and nothing changes
    assert not set(labels) & set(again["hours_processed"])
    assert backfill["hours_processed"] == labels and backfill["backfill"] is True
    assert rollups_of(stack, hours) == expected

    # WHEN late records arrive for a minute of the first hour
    late_ts = (start_s + 120) * 1000
    late_manifest = Manifest(cells={k: v.copy() for k, v in result.manifest.cells.items()},
                             sites=dict(result.manifest.sites))
    late = []
    for index, device in enumerate(sorted(result.manifest.sites)[:2]):
        record = telemetry_record(device, site=result.manifest.sites[device],
                                  ts=late_ts + index, seq=100_000 + index,
                                  metrics={"temperature_c": 99.25 + index})
        late.append((device, telemetry.encode(record), record))
        late_manifest.add(record)
    publisher.publish(late)
    stack.wait_until_idle(timeout_s=240)
    # THEN the stream rollup re-marked that hour
    assert labels[0] in pending_hours(stack)
    # AND the next run brings the roll-ups to the new ground truth exactly
    _run(stack)
    updated = expected_rollups(late_manifest)
    assert updated != expected
    assert rollups_of(stack, hours) == updated


def test_a_device_that_moves_site_counts_in_each_site_with_its_share(stack: LocalStack) -> None:
    # GIVEN, fourteen hours back, a device reporting from plant-x in minute 0 and from
    # plant-y in minute 2, and another device at plant-x, through the pipeline ...
    hour = hours_back_s(14)
    mover, stayer = "dev-mover-0001", "dev-stayer-0001"
    readings = [(mover, "plant-x", 0, 1.5), (mover, "plant-x", 0, 2.5),
                (stayer, "plant-x", 1, 100.0), (mover, "plant-y", 2, 4.0)]
    records = [telemetry_record(device, site=site, ts=(hour + minute * 60 + seq) * 1000,
                                seq=seq, metrics={"temperature_c": value})
               for seq, (device, site, minute, value) in enumerate(readings)]
    publisher = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
    publisher.publish([(r.device_id, telemetry.encode(r), r) for r in records])
    stack.wait_until_idle(timeout_s=240)
    # ... and the minute in between, when it moved: its total as the rollup writes one
    # whose readings came from two sites (written directly: the aggregator's partials do
    # not keep sites apart yet), with its hour's marker in the device's shard
    shares = {"plant-x": Stats.of(Decimal("3")), "plant-y": Stats.of(Decimal("5"))}
    shares["plant-y"].add(Decimal("6"))
    whole = shares["plant-x"].copy()
    whole.merge(shares["plant-y"])
    moved = total_item(BucketKey(mover, "plant-x", "temperature_c", hour + 60), whole, 1,
                       shares)
    batch_write(stack.client("dynamodb"), str(stack.outputs["aggregates_table_name"]),
                [moved, pending_marker_item(hour_label(hour), "moved", int(time.time()),
                                            pending_shard(mover))])

    # WHEN the scheduled rollup runs
    summary = _run(stack)

    # THEN each site holds exactly what was reported there, the mover counted in both
    assert hour_label(hour) in summary["hours_processed"]
    rollups = rollups_of(stack, [hour])
    label = hour_label(hour)

    assert rollups[("SM#plant-x#temperature_c", f"R60#{label}")] == expected(
        "1.5", "2.5", "3", "100", devices=2)
    assert rollups[("SM#plant-y#temperature_c", f"R60#{label}")] == expected(
        "5", "6", "4", devices=1)
    # AND the device and the fleet merge its whole minutes, as for any device
    assert rollups[(f"DM#{mover}#temperature_c", f"R5#{label}:00")] == expected(
        "1.5", "2.5", "3", "5", "6", "4", devices=1)
    assert rollups[("FM#temperature_c", f"R60#{label}")] == expected(
        "1.5", "2.5", "3", "5", "6", "4", "100", devices=2)
    # AND no marker of the hour is left, in any shard
    assert label not in pending_hours(stack)


def analyst_keys(stack: LocalStack) -> Any:
    """An IAM user with the stack's analyst policy attached, and its access key."""
    from botocore.credentials import Credentials

    iam = stack.client("iam")
    iam.create_user(UserName="http-analyst")
    iam.attach_user_policy(UserName="http-analyst",
                           PolicyArn=str(stack.outputs["analyst_policy_arn"]))
    key = iam.create_access_key(UserName="http-analyst")["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])
