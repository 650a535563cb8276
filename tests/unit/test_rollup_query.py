"""Queries read the rollup's minute totals (embedded DynamoDB, moto)."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from lambdas.shared.aggregates import BucketKey, Stats, total_item
from lambdas.shared.dynamo import batch_write
from shardline.query import AggregateReader
from tests.factories.dynamodb import create_aggregates_table
from tests.factories.partials import partial_of

TABLE = "aggregates"
MINUTE = 1_767_225_600  # 2026-01-01T00:00
KEY = BucketKey("dev-00001", "site-a", "temperature_c", MINUTE)
NEXT = BucketKey("dev-00001", "site-a", "temperature_c", MINUTE + 60)


@pytest.fixture
def dynamodb(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_aggregates_table(client, TABLE)
        yield client


def test_series_and_all_minutes_read_totals_not_partials(dynamodb):
    # GIVEN two partials and their total for one minute, and a total for the next minute
    batch_write(dynamodb, TABLE, [
        partial_of(KEY, ["1"], "shard-0", MINUTE),
        partial_of(KEY, ["3"], "shard-1", MINUTE),
        total_item(KEY, Stats(2, Decimal("4"), Decimal("1"), Decimal("3"), Decimal("10")), 2),
        total_item(NEXT, Stats.of(Decimal("5")), 1),
    ])
    reader = AggregateReader(TABLE, dynamodb)
    # WHEN a device's series and every minute are read
    series = reader.series("dev-00001", "temperature_c", since_s=MINUTE, until_s=MINUTE + 119)
    every = reader.all_minutes()
    # THEN each minute appears once, from its total
    expected = [(MINUTE, 2, Decimal("4")), (MINUTE + 60, 1, Decimal("5"))]
    assert [(row.minute, row.count, row.stats.total) for row in series] == expected
    assert [(row.minute, row.count, row.stats.total) for row in every] == expected
    # AND the range is inclusive of its bounds' minutes only
    assert [row.minute for row in reader.series(
        "dev-00001", "temperature_c", since_s=MINUTE + 60, until_s=MINUTE + 60)] == [MINUTE + 60]


def test_reading_from_partials_sums_them_as_the_rollup_does(dynamodb):
    # GIVEN partials whose total the rollup has not written yet
    batch_write(dynamodb, TABLE, [
        partial_of(KEY, ["1"], "shard-0", MINUTE),
        partial_of(KEY, ["3"], "shard-1", MINUTE),
    ])
    # WHEN they are read through totals and through partials
    totals = AggregateReader(TABLE, dynamodb)
    partials = AggregateReader(TABLE, dynamodb, from_partials=True)
    # THEN totals show nothing yet and the partials sum exactly
    assert totals.series("dev-00001", "temperature_c", since_s=MINUTE, until_s=MINUTE) == []
    rows = partials.series("dev-00001", "temperature_c", since_s=MINUTE, until_s=MINUTE)
    assert [(row.minute, row.count, row.stats.total) for row in rows] == [
        (MINUTE, 2, Decimal("4"))]
