"""A small aggregates table for the query API's tests, written by the real aggregates layer:
minute totals (``total_item``), the scheduled rollup's roll-ups (``hour_rollups``) of the
first ten minutes only (as if it last ran at 00:10), and each device's newest partial.

=========  =======  ==============================  =====================
device     site     metrics                         minutes (readings)
=========  =======  ==============================  =====================
dev-00001  plant-a  temperature_c, humidity_pct     00:00 to 00:14 (2 each)
dev-00002  plant-b  temperature_c                   00:00 to 00:14 (2 each)
=========  =======  ==============================  =====================

``VALUES`` holds every reading, so tests compute the expected statistics from the raw
values (``statistics``), independently of the code under test.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

from lambdas.scheduled_rollup.logic import hour_rollups
from lambdas.shared.aggregates import BucketKey, total_item
from lambdas.shared.dynamo import batch_write
from lambdas.shared.readings import ReadingEntry
from shardline.local.embedded import EmbeddedAws
from tests.factories.aggregates import stats_of
from tests.factories.dynamodb import create_aggregates_table
from tests.factories.partials import partial_from_entries

HOUR = 1_767_225_600  # 2026-01-01T00:00Z
MINUTES = 15
ROLLED_UP_MINUTES = 10
TEMPERATURE, HUMIDITY = "temperature_c", "humidity_pct"
DEVICES = {"dev-00001": ("plant-a", (TEMPERATURE, HUMIDITY)),
           "dev-00002": ("plant-b", (TEMPERATURE,))}


def _readings(device: str, metric: str, minute: int) -> tuple[str, str]:
    base = Decimal(20 if metric == TEMPERATURE else 40) + int(device[-1]) * 5
    step = Decimal(minute) / 4
    return str(base + step), str(base + step * 3 + 1)


VALUES: dict[tuple[str, str, int], tuple[str, str]] = {
    (device, metric, minute): _readings(device, metric, minute)
    for device, (_site, metrics) in DEVICES.items() for metric in metrics
    for minute in range(MINUTES)}


def expected(device: str | None, metric: str, first_minute: int, minutes: int, *,
             site: str | None = None) -> dict[str, Any]:
    """count, mean, min, max, population stddev and devices of the readings of
    ``minutes`` minutes from ``first_minute``, of one device, one site or (neither) all."""
    chosen = [(d, float(value)) for (d, m, minute), values in VALUES.items()
              for value in values
              if m == metric and first_minute <= minute < first_minute + minutes
              and (device is None or d == device)
              and (site is None or DEVICES[d][0] == site)]
    values = [value for _d, value in chosen]
    return {"count": len(values), "mean": statistics.fmean(values), "min": min(values),
            "max": max(values), "stddev": statistics.pstdev(values),
            "devices": len({d for d, _v in chosen})}


def observed(row: Any) -> dict[str, Any]:
    return {"count": row.count, "mean": row.mean, "min": row.min, "max": row.max,
            "stddev": row.stddev, "devices": row.devices}


def _items() -> list[dict[str, Any]]:
    totals = [total_item(BucketKey(device, DEVICES[device][0], metric, HOUR + minute * 60),
                         stats_of(*values), 1)
              for (device, metric, minute), values in VALUES.items()]
    rolled_up = [item for item in totals if item["bucket"] < HOUR + ROLLED_UP_MINUTES * 60]
    newest = [partial_from_entries(device, HOUR + (MINUTES - 1) * 60, [ReadingEntry.of(
        boot=0, seq=1, ts_ms=(HOUR + (MINUTES - 1) * 60) * 1000, site=site,
        metrics={metric: Decimal(1) for metric in metrics})])
        for device, (site, metrics) in DEVICES.items()]
    return totals + hour_rollups(rolled_up) + newest


@pytest.fixture(scope="module")
def query_table(embedded_aws: EmbeddedAws) -> Iterator[tuple[Any, str]]:
    """(client, table name) of a table holding the data above, shared by a module's tests
    (none writes to it)."""
    name = f"aggregates-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url,
                          region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    create_aggregates_table(client, name)
    batch_write(client, name, _items())
    yield client, name
    client.delete_table(TableName=name)


__all__ = ["DEVICES", "HOUR", "HUMIDITY", "MINUTES", "ROLLED_UP_MINUTES", "TEMPERATURE",
           "VALUES", "expected", "observed", "query_table"]
