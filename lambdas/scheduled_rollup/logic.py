"""Pure logic of the scheduled rollup: which hours to recompute, and their roll-ups.

No AWS here. An hour's roll-ups are computed from all of its minute totals (read from the
``by_hour`` index): per device, per site and for the fleet, for each 5-minute period and
for the hour, merged with ``Stats.merge`` (exact Decimal arithmetic, so the result does
not depend on the order the index returns the totals in). A site's roll-ups merge each
total's share of that site (a device may move between sites, even within a minute).

Markers come from several partitions (``RU#PENDING#<n>``, sharded by device): they are
grouped by hour, so an hour is recomputed once however many shards mark it, and each
marker is deleted (or kept) on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lambdas.shared.aggregates import (
    FIVE_MINUTES,
    ONE_HOUR,
    TOTAL_KIND,
    Stats,
    hour_label,
    parse_hour_label,
    rollup_item,
    site_stats_from_total,
    stats_from_item,
)
from lambdas.shared.markers import PENDING_KIND
from lambdas.shared.retention import expires_at

RESOLUTIONS = (FIVE_MINUTES, ONE_HOUR)


class BadRequest(ValueError):
    """The invocation's event names hours in a form the function does not accept."""


@dataclass(frozen=True, slots=True)
class PendingMarker:
    """One marker as read: its partition (``RU#PENDING#<n>``), hour, token and when it
    was written."""

    partition: str
    hour: str
    token: str
    marked_at: int


@dataclass(frozen=True, slots=True)
class PendingHour:
    """An hour to recompute and every marker of it read, from whichever shards."""

    hour: str
    markers: tuple[PendingMarker, ...]


@dataclass(frozen=True, slots=True)
class HourPlan:
    """One hour a run recomputes (once, however many shards mark it): after it, the
    ``settled`` markers are deleted if unchanged; ``young`` ones are kept, so a later run,
    once the index has settled, recomputes the hour again."""

    hour: str
    settled: tuple[PendingMarker, ...]
    young: tuple[PendingMarker, ...]


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What one scheduled run does with the markers it read: ``hours`` are recomputed,
    oldest first; ``left`` hours wait for the next run (over the per-run limit)."""

    hours: list[HourPlan]
    left: list[PendingHour]


def pending_hours(items: Iterable[Mapping[str, Any]]) -> list[PendingHour]:
    """Markers read from the ``RU#PENDING#<n>`` partitions grouped by hour, oldest hour
    first (other items are ignored)."""
    by_hour: dict[str, list[PendingMarker]] = {}
    for item in items:
        if item.get("kind") != PENDING_KIND:
            continue
        marker = PendingMarker(str(item["PK"]), str(item["SK"]), str(item["token"]),
                               int(item["marked_at"]))
        by_hour.setdefault(marker.hour, []).append(marker)
    return [PendingHour(hour, tuple(sorted(markers, key=lambda m: m.partition)))
            for hour, markers in sorted(by_hour.items())]


def plan_run(pending: Iterable[PendingHour], *, now: float, settle_seconds: int,
             max_hours: int) -> RunPlan:
    """The oldest ``max_hours`` hours, each with its settled and young markers.

    An hour with young markers is recomputed too rather than skipped: the current hour is
    re-marked every time a window is flushed, so with a skip it would wait until its data
    stops.
    """
    ordered = sorted(pending, key=lambda hour: hour.hour)
    taken, left = ordered[:max_hours], ordered[max_hours:]
    hours = [HourPlan(hour.hour,
                      settled=tuple(m for m in hour.markers
                                    if now - m.marked_at >= settle_seconds),
                      young=tuple(m for m in hour.markers
                                  if now - m.marked_at < settle_seconds))
             for hour in taken]
    return RunPlan(hours=hours, left=left)


def requested_hours(event: Mapping[str, Any] | None, *, max_hours: int) -> list[str] | None:
    """The hours an explicit backfill names (``{"hours": ["2026-11-23T10", ...]}``),
    normalised and sorted; None for a scheduled run (any event without ``hours``)."""
    if not isinstance(event, Mapping) or "hours" not in event:
        return None
    hours = event["hours"]
    if not isinstance(hours, list) or not hours:
        raise BadRequest('"hours" must be a non-empty list of hours like "2026-11-23T10"')
    labels: set[str] = set()
    for hour in hours:
        try:
            labels.add(hour_label(parse_hour_label(str(hour))))
        except ValueError:
            raise BadRequest(f"not an hour (YYYY-MM-DDTHH, UTC): {hour!r}") from None
    if len(labels) > max_hours:
        raise BadRequest(f"{len(labels)} hours requested; at most {max_hours} per invocation")
    return sorted(labels)


@dataclass(slots=True)
class _Group:
    stats: Stats
    site: str  # a device roll-up's: the site of its first minute
    minutes: int = 1
    devices: set[str] = field(default_factory=set)


GroupKey = tuple[str, str, str, int, int]  # scope, device/site/"", metric, resolution, period


def _merge_into(groups: dict[GroupKey, _Group], key: GroupKey, stats: Stats,
                device_id: str, site: str) -> None:
    group = groups.get(key)
    if group is None:
        groups[key] = _Group(stats.copy(), site, devices={device_id})
    else:
        group.stats.merge(stats)
        group.minutes += 1
        group.devices.add(device_id)


def minutes_expiring(hour: str, minute_retention_days: int | None, *, now: float) -> bool:
    """True once the first minute totals of ``hour`` are past their retention: the hour
    can no longer be recomputed whole, so its roll-ups (kept longer) must stay as they
    are rather than be rewritten from the minutes that remain."""
    if minute_retention_days is None:
        return False
    return expires_at(parse_hour_label(hour), minute_retention_days) <= now


def hour_rollups(totals: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every roll-up item of the hour whose minute totals are ``totals``.

    A device and the fleet merge whole totals; a site merges each total's share of that
    site (``site_stats_from_total``): a device that moved mid-minute contributes to each
    site the readings it reported there, and counts among each site's devices.

    A total read twice (the index is read page by page) counts once: the latest per
    (device, metric, minute) is kept.
    """
    unique: dict[tuple[str, str, int], Mapping[str, Any]] = {}
    for item in totals:
        if item.get("kind") != TOTAL_KIND:
            continue
        unique[(str(item["device_id"]), str(item["metric"]), int(item["bucket"]))] = item

    groups: dict[GroupKey, _Group] = {}
    for (device_id, metric, bucket), item in sorted(unique.items()):
        site = str(item.get("site", ""))
        stats = stats_from_item(item)
        shares = site_stats_from_total(item)
        for resolution in RESOLUTIONS:
            period = bucket - bucket % resolution
            _merge_into(groups, ("device", device_id, metric, resolution, period), stats,
                        device_id, site)
            _merge_into(groups, ("fleet", "", metric, resolution, period), stats,
                        device_id, site)
            for share_site, share in shares.items():
                _merge_into(groups, ("site", share_site, metric, resolution, period), share,
                            device_id, share_site)

    return [
        rollup_item(scope, metric, resolution, period, group.stats,
                    minutes=group.minutes, devices=len(group.devices),
                    device_id=name if scope == "device" else None,
                    site=group.site if scope in ("device", "site") else None)
        for (scope, name, metric, resolution, period), group in sorted(groups.items())
    ]


__all__ = [
    "RESOLUTIONS",
    "BadRequest",
    "HourPlan",
    "PendingHour",
    "PendingMarker",
    "RunPlan",
    "hour_rollups",
    "minutes_expiring",
    "pending_hours",
    "plan_run",
    "requested_hours",
]
