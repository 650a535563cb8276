"""`shardline hot-devices`: the busiest devices from the aggregates' minute totals (read
through the by_hour index), each with the shard Kinesis routes it to."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from lambdas.shared.aggregates import BucketKey, Stats, total_item
from lambdas.shared.dynamo import batch_write
from producers.aggregation import hash_key, read_shard_map
from shardline import device_load
from shardline.cli import main
from tests.factories.dynamodb import create_aggregates_table

TABLE = "aggregates"
STREAM = "telemetry"


def _total(device: str, metric: str, minute: int, count: int) -> dict:
    stats = Stats(count, Decimal(count), Decimal(1), Decimal(1), Decimal(count))
    return total_item(BucketKey(device, "plant-a", metric, minute), stats, 1)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("SHARDLINE_STATE_DIR", "/nonexistent-shardline-state")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        kinesis = boto3.client("kinesis", region_name="us-east-1")
        create_aggregates_table(dynamodb, TABLE)
        kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        yield dynamodb, kinesis


def test_the_busiest_devices_come_first_with_their_shard_and_share_of_it(aws) -> None:
    # GIVEN minute totals of the last minutes: a flooding device, two quiet ones, and
    # a minute of the flooder from before the window
    dynamodb, kinesis = aws
    now = time.time()
    minute = int(now // 60 * 60)
    batch_write(dynamodb, TABLE, [
        _total("dev-00007", "temperature_c", minute - 60, 30_000),
        _total("dev-00007", "humidity_pct", minute - 60, 29_000),  # a reading lacked it
        _total("dev-00007", "temperature_c", minute - 120, 30_000),
        _total("dev-00001", "temperature_c", minute - 60, 120),
        _total("dev-00002", "temperature_c", minute - 120, 120),
        _total("dev-00007", "temperature_c", minute - 3600 * 3, 99_999),
    ])

    # WHEN the last 5 minutes are read
    totals = device_load.read_totals(dynamodb, TABLE, now - 300, now)
    shards = read_shard_map(kinesis, STREAM)
    loads = device_load.device_loads(totals, lambda device: shards.shard_for(device).shard_id)
    rows = device_load.rows(loads, window_s=300, top=2)

    # THEN the flooder leads with each device-minute counted once (its busiest metric),
    # at readings per second over the window, on the shard its id hashes to
    assert [(r["device"], r["readings"], r["per_s"]) for r in rows] == [
        ("dev-00007", 60_000, 200.0), ("dev-00001", 120, 0.4)]
    assert rows[0]["shard"] == shards.shard_for_hash(hash_key("dev-00007")).shard_id
    same_shard = [d for d in ("dev-00001", "dev-00002", "dev-00007")
                  if shards.shard_for(d).shard_id == rows[0]["shard"]]
    quiet = 120 * (len(same_shard) - 1)
    assert rows[0]["shard_pct"] == round(100 * 60_000 / (60_000 + quiet), 1)


def test_the_command_prints_the_busiest_devices(aws) -> None:
    # GIVEN a flooding device's minute total
    dynamodb, _kinesis = aws
    minute = int(time.time() // 60 * 60)
    batch_write(dynamodb, TABLE, [_total("dev-00007", "temperature_c", minute - 60, 6_000)])

    # WHEN `shardline hot-devices` runs
    result = CliRunner().invoke(main, ["hot-devices", "--since", "10m", "--table", TABLE,
                                       "--stream", STREAM, "--format", "json"])

    # THEN it lists the device with its rate over the window
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert (row["device"], row["readings"], row["per_s"]) == ("dev-00007", 6000, 10.0)


def test_a_window_under_a_minute_is_refused_in_one_line(aws) -> None:
    result = CliRunner().invoke(main, ["hot-devices", "--since", "30s", "--table", TABLE,
                                       "--stream", STREAM])
    assert result.exit_code != 0
    assert "--since must be at least 1m" in result.output
