"""``shardline hot-devices``: which devices sent the most readings lately, and to which shard.

A device's readings all go to one shard (its id is the partition key), so a device that
floods the stream shows here first. The counts come from the aggregates table's minute
totals through its ``by_hour`` index (the index projects ``count``, ``device_id``,
``site`` and ``metric``): one Query per index shard and hour of the window, as the
scheduled rollup reads them, so it costs the same on AWS as on the local stack and needs
only ``dynamodb:Query`` on the index (the analyst policy) and ``kinesis:ListShards``.

A device-minute's readings are the largest count among its metrics' totals (a reading
may omit a metric). Minutes are event time: a device whose clock is off is counted where
its readings say they belong. Each device's shard is computed the way Kinesis routes
(MD5 of the partition key into the open shards' hash key ranges), and ``shard_pct`` is
its share of what its shard received from all devices in the window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.shared import aggregates
from lambdas.shared.dynamo import read_items

MINUTE_S = 60
HOUR_S = 3600


@dataclass(frozen=True)
class DeviceLoad:
    device_id: str
    site: str
    shard_id: str
    readings: int


def window_queries(table: str, since_s: float, now_s: float) -> Iterator[dict[str, Any]]:
    """The ``by_hour`` Query requests covering the minutes from ``since_s`` to ``now_s``."""
    first = int(since_s // MINUTE_S * MINUTE_S)
    last = int(now_s // MINUTE_S * MINUTE_S)
    low, high = aggregates.minute_label(first), aggregates.minute_label(last) + "~"
    for hour_start in range(first // HOUR_S * HOUR_S, last + 1, HOUR_S):
        hour = aggregates.minute_label(hour_start)[:13]
        for shard in range(aggregates.HOUR_INDEX_SHARDS):
            yield {"TableName": table, "IndexName": aggregates.HOUR_INDEX_NAME,
                   "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
                   "ExpressionAttributeNames": {"#pk": aggregates.HOUR_INDEX_PK,
                                                "#sk": aggregates.HOUR_INDEX_SK},
                   "ExpressionAttributeValues": {
                       ":pk": {"S": aggregates.hour_index_key(hour, shard)},
                       ":low": {"S": low}, ":high": {"S": high}}}


def read_totals(client: Any, table: str, since_s: float, now_s: float) -> Iterator[dict[str, Any]]:
    """The minute totals of the window (plain values), from every index shard."""
    for request in window_queries(table, since_s, now_s):
        yield from read_items(client, "query", **request)


def device_loads(totals: Iterable[Mapping[str, Any]],
                 shard_of: Callable[[str], str]) -> list[DeviceLoad]:
    """Readings per device over the totals, busiest first (ties by device id)."""
    per_minute: dict[tuple[str, Any], int] = defaultdict(int)
    sites: dict[str, str] = {}
    for total in totals:
        device = str(total["device_id"])
        key = (device, total["bucket"])
        per_minute[key] = max(per_minute[key], int(total["count"]))
        sites.setdefault(device, str(total.get("site", "")))
    readings: dict[str, int] = defaultdict(int)
    for (device, _minute), count in per_minute.items():
        readings[device] += count
    loads = [DeviceLoad(device, sites[device], shard_of(device), count)
             for device, count in readings.items()]
    return sorted(loads, key=lambda load: (-load.readings, load.device_id))


def rows(loads: list[DeviceLoad], *, window_s: float, top: int) -> list[dict[str, Any]]:
    """The ``top`` busiest devices: readings, readings per second over the window, and
    their share of their shard's readings."""
    per_shard: dict[str, int] = defaultdict(int)
    for load in loads:
        per_shard[load.shard_id] += load.readings
    return [{"device": load.device_id, "site": load.site, "shard": load.shard_id,
             "readings": load.readings, "per_s": round(load.readings / window_s, 2),
             "shard_pct": round(100 * load.readings / per_shard[load.shard_id], 1)}
            for load in loads[:top]]


__all__ = ["DeviceLoad", "device_loads", "read_totals", "rows", "window_queries"]
