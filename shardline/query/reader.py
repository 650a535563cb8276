"""The aggregates table's items as read: minute totals, partials and roll-ups of one
partition at a time (the layer under ``shardline.query.query``).

>>> reader = AggregateReader("shardline-aggregates", boto3.client("dynamodb"))
>>> for row in reader.series("dev-00001", "temperature_c", since_s=time.time() - 900):
...     print(row.minute_label, row.count, row.mean)

A minute's figures are its total item (``T#<minute>``), which the rollup function
recomputes from that device-minute's partials (one per shard and arrival window) each
time one is written: exact (Decimal), each reading counted once, and independent of how
batches were split. A total lags its newest partial by one stream delivery (about a
second). ``from_partials=True`` merges the partials instead, as the rollup does, for
checking totals or for a deployment without the rollup function.

Items past their retention (``expires_at``, ``lambdas/shared/retention.py``) are filtered
out of every read: DynamoDB deletes them only eventually.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lambdas.shared import aggregates
from lambdas.shared.aggregates import Stats
from lambdas.shared.dynamo import read_items
from lambdas.shared.partials import device_partition_key, totals_from_partials
from lambdas.shared.readings import LIST_SEPARATOR
from lambdas.shared.retention import live_filter
from shardline.errors import ShardlineError


@dataclass(frozen=True)
class MinuteAggregate:
    device_id: str
    metric: str
    minute: int  # epoch seconds, start of the event-time minute
    stats: Stats

    @property
    def minute_label(self) -> str:
        return aggregates.minute_label(self.minute)

    @property
    def count(self) -> int:
        return self.stats.count

    @property
    def mean(self) -> Decimal:
        return self.stats.mean

    def as_dict(self) -> dict[str, Any]:
        """One output row; ``sum`` stays an exact decimal string."""
        return {
            "minute": self.minute_label, "count": self.count, "mean": float(self.mean),
            "min": float(self.stats.minimum), "max": float(self.stats.maximum),
            "sum": str(self.stats.total),
        }


class AggregateReader:
    """Reads the ``aggregates`` table through a boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any, *, from_partials: bool = False) -> None:
        self.table_name = table_name
        self.client = client
        self.from_partials = from_partials

    def series(self, device_id: str, metric: str, *, since_s: float,
               until_s: float | None = None) -> list[MinuteAggregate]:
        """Per-minute totals of one device's metric, oldest first."""
        until = int(until_s if until_s is not None else time.time())
        if self.from_partials:
            low, high = aggregates.range_bounds(int(since_s), until)
            partition_key = device_partition_key(device_id)
        else:
            low, high = aggregates.total_range_bounds(int(since_s), until)
            partition_key = aggregates.series_key(device_id, metric)
        items = self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": partition_key},
                ":low": {"S": low}, ":high": {"S": high},
            },
        )
        return [row for row in self._totals(items) if row.metric == metric]

    def rollups(self, scope: str, metric: str, *, resolution_s: int, since_s: float,
                until_s: float | None = None, device: str | None = None,
                site: str | None = None) -> list[RollupAggregate]:
        """5-minute (``resolution_s=300``) or hourly (3600) roll-ups of one device
        (``scope="device"``, ``device=``), one site (``site=``) or the fleet, oldest
        first, for the periods overlapping [since, until]."""
        if resolution_s not in aggregates.ROLLUP_PREFIXES:
            raise ShardlineError(f"roll-ups exist at 300 s and 3600 s, not {resolution_s} s")
        try:
            partition_key = aggregates.rollup_partition_key(scope, metric, device_id=device,
                                                            site=site)
        except ValueError as exc:
            raise ShardlineError(str(exc)) from None
        until = int(until_s if until_s is not None else time.time())
        low, high = aggregates.rollup_range_bounds(resolution_s, int(since_s), until)
        items = self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": partition_key},
                ":low": {"S": low}, ":high": {"S": high},
            },
        )
        rows = [
            RollupAggregate(scope, str(item.get("device_id") if scope == "device" else
                                       item.get("site", "") if scope == "site" else ""),
                            metric, int(item["period"]), int(item["resolution_s"]),
                            int(item["devices"]), int(item["minutes"]),
                            aggregates.stats_from_item(item))
            for item in items if item.get("kind") == aggregates.ROLLUP_KIND
        ]
        return sorted(rows, key=lambda row: row.period)

    def has_items(self, partition_key: str) -> bool:
        """Whether any item of ``partition_key`` is stored (live or not yet deleted): one
        read of at most one item, to tell "no such series" from "nothing in this range"."""
        response = self.client.query(
            TableName=self.table_name, KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": partition_key}}, Limit=1,
            ProjectionExpression="PK")
        return bool(response.get("Items"))

    def device_metrics(self, device_id: str) -> list[str] | None:
        """The metrics of the device's newest partial (its latest reported minute), or
        None when the table holds no partial of the device."""
        response = self.client.query(
            TableName=self.table_name, KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": device_partition_key(device_id)}},
            ScanIndexForward=False, Limit=1, ProjectionExpression="#metrics",
            ExpressionAttributeNames={"#metrics": "metrics"})  # a reserved word
        items = response.get("Items") or []
        if not items:
            return None
        names = items[0].get("metrics", {}).get("S", "")
        return sorted(name for name in names.split(LIST_SEPARATOR) if name)

    def all_minutes(self) -> list[MinuteAggregate]:
        """Every minute of every device and metric (a full scan: small tables only)."""
        kind = aggregates.PARTIAL_KIND if self.from_partials else aggregates.TOTAL_KIND
        return self._totals(self._pages("scan", FilterExpression="kind = :kind",
                                        ExpressionAttributeValues={":kind": {"S": kind}}))

    def _totals(self, items: Iterable[dict[str, Any]]) -> list[MinuteAggregate]:
        totals = (totals_from_partials(items) if self.from_partials
                  else aggregates.combine(items))
        return [MinuteAggregate(device, metric, minute, stats)
                for (device, metric, minute), stats in sorted(totals.items())]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return self._pages("query", **kwargs)

    def _pages(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        # Expired items may linger for days before TTL deletes them: never show them.
        request = live_filter(kwargs, time.time())
        return read_items(self.client, operation, TableName=self.table_name, **request)


RESOLUTIONS = {"5m": aggregates.FIVE_MINUTES, "1h": aggregates.ONE_HOUR}


@dataclass(frozen=True)
class RollupAggregate:
    """One roll-up: a device's, a site's or the fleet's metric over a 5-minute period or
    an hour."""

    scope: str  # device, site or fleet
    name: str  # the device id or site; "" for the fleet
    metric: str
    period: int  # epoch seconds, start of the period
    resolution_s: int
    devices: int
    minutes: int
    stats: Stats

    @property
    def period_label(self) -> str:
        return aggregates.period_label(self.resolution_s, self.period)

    def as_dict(self) -> dict[str, Any]:
        """One output row; ``sum`` stays an exact decimal string."""
        row: dict[str, Any] = {"period": self.period_label}
        if self.scope != "device":
            row["devices"] = self.devices
        row.update({
            "count": self.stats.count, "mean": float(self.stats.mean),
            "min": float(self.stats.minimum), "max": float(self.stats.maximum),
            "sum": str(self.stats.total),
        })
        return row



@dataclass(frozen=True)
class MetricSummary:
    metric: str
    devices: int
    minutes: int
    stats: Stats


def fleet_summary(rows: Iterable[MinuteAggregate]) -> list[MetricSummary]:
    """Fleet-wide statistics per metric from per-minute totals."""
    merged: dict[str, Stats] = {}
    devices: dict[str, set[str]] = {}
    minutes: dict[str, set[int]] = {}
    for row in rows:
        stats = Stats(row.stats.count, row.stats.total, row.stats.minimum, row.stats.maximum,
                      row.stats.sum_squares)
        if row.metric in merged:
            merged[row.metric].merge(stats)
        else:
            merged[row.metric] = stats
        devices.setdefault(row.metric, set()).add(row.device_id)
        minutes.setdefault(row.metric, set()).add(row.minute)
    return [MetricSummary(metric, len(devices[metric]), len(minutes[metric]), merged[metric])
            for metric in sorted(merged)]
