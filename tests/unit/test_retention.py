"""Retention of the aggregates table's items: ``expires_at`` from event time, and readers
that never return an expired item DynamoDB has not deleted yet (embedded DynamoDB, moto)."""

from __future__ import annotations

import time
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from lambdas.aggregator.repository import AggregatesRepository
from lambdas.rollup.logic import DeviceMinute, touched_minute
from lambdas.rollup.repository import RollupRepository
from lambdas.scheduled_rollup.config import ScheduledRollupConfig
from lambdas.scheduled_rollup.logic import minutes_expiring
from lambdas.scheduled_rollup.repository import ScheduledRollupRepository
from lambdas.shared.aggregates import (
    FIVE_MINUTES,
    BucketKey,
    Stats,
    hour_label,
    rollup_item,
    total_item,
)
from lambdas.shared.dynamo import batch_write
from lambdas.shared.retention import SECONDS_PER_DAY, expires_at, is_live, live_filter
from lambdas.shared.settings import ConfigError
from shardline.query import AggregateReader
from tests.factories.dynamodb import create_aggregates_table, scan_items
from tests.factories.partials import partial_of

TABLE = "aggregates"
DAY = SECONDS_PER_DAY
# Event times relative to now: the retention under test is days, so "now" moving by the
# seconds a test takes changes nothing.
NOW = int(time.time())
RECENT = NOW - NOW % 3600 - 3600           # an hour ago, on the hour
OLD = RECENT - 40 * DAY                    # past a 30-day minute retention


@pytest.fixture
def dynamodb(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_aggregates_table(client, TABLE)
        yield client


def total_of(bucket: int, value: str = "5", *, expires: int | None = None) -> dict:
    item = total_item(BucketKey("dev-00001", "site-a", "temperature_c", bucket),
                      Stats.of(Decimal(value)), 1)
    return item if expires is None else {**item, "expires_at": expires}


def test_expiry_counts_from_event_time_not_from_the_write():
    # GIVEN a minute's event time WHEN its expiry is computed for 30 days of retention
    # THEN it is 30 days after the minute, whenever the item is written
    assert expires_at(OLD, 30) == OLD + 30 * DAY
    # AND an item with no expires_at is live; one whose TTL is now or past is not (AWS
    # filters "TTL equal to or less than the current time")
    assert is_live({}, NOW) and is_live({"expires_at": NOW + 1}, NOW)
    assert not is_live({"expires_at": NOW}, NOW)


def test_the_live_filter_is_anded_with_a_readers_own_filter():
    # GIVEN a scan request with a filter of its own WHEN the live filter is added
    request = live_filter({"FilterExpression": "kind = :kind",
                           "ExpressionAttributeValues": {":kind": {"S": "total"}}}, NOW)
    # THEN both hold, with both placeholders
    assert request["FilterExpression"] == (
        "(kind = :kind) AND (attribute_not_exists(expires_at) OR expires_at > :now)")
    assert set(request["ExpressionAttributeValues"]) == {":kind", ":now"}


def test_partials_and_totals_carry_the_minute_retention(dynamodb):
    # GIVEN the aggregator's and the rollup's repositories with a 30-day minute retention
    key = BucketKey("dev-00001", "site-a", "temperature_c", RECENT)
    AggregatesRepository(TABLE, client=dynamodb, minute_retention_days=30).write_partials(
        [partial_of(key, ["1"], "shard-0", RECENT)])
    RollupRepository(TABLE, dynamodb, minute_retention_days=30).write_totals([total_of(RECENT)])
    # WHEN the items are read back
    items = scan_items(dynamodb, TABLE)
    # THEN each expires 30 days after its event-time minute
    assert sorted(item["kind"] for item in items) == ["partial", "total"]
    assert {int(item["expires_at"]) for item in items} == {RECENT + 30 * DAY}


def test_rollups_carry_the_longer_rollup_retention(dynamodb):
    # GIVEN a 5-minute roll-up written with a 365-day roll-up retention
    rollup = rollup_item("fleet", "temperature_c", FIVE_MINUTES, RECENT,
                         Stats.of(Decimal("5")), minutes=1, devices=1)
    ScheduledRollupRepository(TABLE, dynamodb, rollup_retention_days=365).write_rollups([rollup])
    # WHEN it is read back THEN it expires 365 days after its period's start
    [item] = scan_items(dynamodb, TABLE)
    assert int(item["expires_at"]) == RECENT + 365 * DAY


def test_the_rollup_merges_only_live_partials(dynamodb):
    # GIVEN a minute with a live partial and one whose TTL passed but is not deleted yet
    key = BucketKey("dev-00001", "site-a", "temperature_c", RECENT)
    batch_write(dynamodb, TABLE, [
        {**partial_of(key, ["1"], "shard-0", RECENT), "expires_at": NOW + DAY},
        {**partial_of(key, ["7"], "shard-1", RECENT), "expires_at": NOW - 1},
    ])
    # WHEN the rollup reads the minute's partials
    partials = list(RollupRepository(TABLE, dynamodb).minute_partials(
        DeviceMinute("dev-00001", RECENT)))
    # THEN only the live one is merged
    assert [item["shard_id"] for item in partials] == ["shard-0"]


def test_the_scheduled_rollup_reads_only_live_totals(dynamodb):
    # GIVEN an hour with a live total and an expired one (same hour, index shard)
    batch_write(dynamodb, TABLE, [total_of(RECENT, "5", expires=NOW + DAY),
                                  total_of(RECENT + 60, "9", expires=NOW - 1)])
    # WHEN the hour's totals are read from the by_hour index
    totals = list(ScheduledRollupRepository(TABLE, dynamodb).hour_totals(hour_label(RECENT)))
    # THEN the expired one is not among them
    assert [int(item["bucket"]) for item in totals] == [RECENT]


def test_queries_do_not_show_expired_totals_or_rollups(dynamodb):
    # GIVEN a live and an expired total, and an expired roll-up, none deleted yet
    expired_rollup = {**rollup_item("fleet", "temperature_c", FIVE_MINUTES, RECENT,
                                    Stats.of(Decimal("5")), minutes=1, devices=1),
                      "expires_at": NOW - 1}
    batch_write(dynamodb, TABLE, [total_of(RECENT, "5", expires=NOW + DAY),
                                  total_of(RECENT + 60, "9", expires=NOW - 1),
                                  expired_rollup])
    reader = AggregateReader(TABLE, dynamodb)
    # WHEN a series, every minute and the roll-ups are read
    series = reader.series("dev-00001", "temperature_c", since_s=RECENT, until_s=RECENT + 120)
    every = reader.all_minutes()
    rollups = reader.rollups("fleet", "temperature_c", resolution_s=FIVE_MINUTES,
                             since_s=RECENT, until_s=RECENT + 300)
    # THEN only the live total appears
    assert [row.minute for row in series] == [RECENT]
    assert [row.minute for row in every] == [RECENT]
    assert rollups == []


def test_an_hour_whose_minutes_began_expiring_is_not_recomputed():
    # GIVEN a 30-day minute retention
    # WHEN an hour 40 days old, and one an hour old, are considered for recomputation
    # THEN the old one is left as its roll-ups hold it; the recent one is recomputed
    assert minutes_expiring(hour_label(OLD), 30, now=NOW)
    assert not minutes_expiring(hour_label(RECENT), 30, now=NOW)
    assert not minutes_expiring(hour_label(OLD), None, now=NOW)


def test_rollup_retention_must_be_longer_than_minute_retention():
    # GIVEN roll-up retention not longer than the minute retention
    environ = {"AGGREGATES_TABLE": TABLE, "MINUTE_RETENTION_DAYS": "30",
               "ROLLUP_RETENTION_DAYS": "30"}
    # WHEN the scheduled rollup reads its configuration THEN it refuses it
    with pytest.raises(ConfigError, match="ROLLUP_RETENTION_DAYS"):
        ScheduledRollupConfig.from_environ(environ)
    # AND a longer one is accepted
    config = ScheduledRollupConfig.from_environ({**environ, "ROLLUP_RETENTION_DAYS": "365"})
    assert (config.minute_retention_days, config.rollup_retention_days) == (30, 365)


def test_the_rollup_ignores_a_ttl_removal():
    # GIVEN the REMOVE record of a partial deleted by TTL (no new image)
    # WHEN the rollup looks for the minute it touches THEN there is none
    assert touched_minute("REMOVE", None) is None
