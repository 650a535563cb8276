"""Helpers of the scheduled rollup's tests on a ``rollup_table`` (tests/unit/conftest.py):
minute totals and markers to write, the handler to invoke, and readers of its markers and
roll-ups."""

from __future__ import annotations

from typing import Any

from lambdas.scheduled_rollup import handler as scheduled_handler
from lambdas.shared.aggregates import BucketKey, total_item
from lambdas.shared.markers import pending_marker_item
from tests.factories.aggregates import stats_of
from tests.factories.dynamodb import scan_items
from tests.factories.kinesis import lambda_context

HOUR = 1_767_225_600  # 2026-01-01T00:00
HOUR_LABEL = "2026-01-01T00"
METRIC = "temperature_c"


def total(device: str, site: str, minute: int, *values: str, metric: str = METRIC) -> dict:
    return total_item(BucketKey(device, site, metric, HOUR + minute * 60), stats_of(*values), 1)


def by_key(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["PK"], item["SK"]): item for item in items}


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return scheduled_handler.lambda_handler(event, lambda_context("scheduled-rollup"))


def rollups_in(client: Any, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    return by_key([item for item in scan_items(client, name) if item["kind"] == "rollup"])


def markers_in(client: Any, name: str) -> dict[tuple[str, str], str]:
    return {(item["PK"], item["SK"]): item["token"] for item in scan_items(client, name)
            if item["kind"] == "pending"}


def marker(hour: str, token: str, marked_at: int = 1, shard: int = 0) -> dict[str, Any]:
    return pending_marker_item(hour, token, marked_at, shard)


def in_shard(shard: int, hour: str = HOUR_LABEL) -> tuple[str, str]:
    return (f"RU#PENDING#{shard}", hour)


def fleet_of(devices: int, minutes: range) -> list[dict[str, Any]]:
    return [total(f"dev-{d:03d}", f"site-{d % 3}", m, str(d), str(m))
            for d in range(devices) for m in minutes]

__all__ = ["HOUR", "HOUR_LABEL", "METRIC", "by_key", "fleet_of", "in_shard", "invoke", "marker",
           "markers_in", "rollups_in", "stats_of", "total"]
