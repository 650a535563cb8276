"""Pure logic of the scheduled rollup: which hours to recompute, and their roll-ups.

No AWS here. An hour's roll-ups are computed from all of its minute totals (read from the
``by_hour`` index): per device, per site and for the fleet, for each 5-minute period and
for the hour, merged with ``Stats.merge`` (exact Decimal arithmetic, so the result does
not depend on the order the index returns the totals in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lambdas.shared.aggregates import (
    FIVE_MINUTES,
    ONE_HOUR,
    PENDING_KIND,
    TOTAL_KIND,
    Stats,
    hour_label,
    parse_hour_label,
    rollup_item,
    stats_from_item,
)

RESOLUTIONS = (FIVE_MINUTES, ONE_HOUR)


class BadRequest(ValueError):
    """The invocation's event names hours in a form the function does not accept."""


@dataclass(frozen=True, slots=True)
class PendingHour:
    """A pending-hour marker as read: the hour, the token seen and when it was written."""

    hour: str
    token: str
    marked_at: int


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What one scheduled run does with the markers it read.

    ``settled`` hours are recomputed and their markers deleted (if unchanged); ``young``
    hours are recomputed but keep their markers (their newest totals may not be in the
    index yet); ``left`` hours wait for the next run (over the per-run limit).
    """

    settled: list[PendingHour]
    young: list[PendingHour]
    left: list[PendingHour]


def pending_hours(items: Iterable[Mapping[str, Any]]) -> list[PendingHour]:
    """Markers read from ``RU#PENDING``, oldest hour first (other items are ignored)."""
    hours = [
        PendingHour(str(item["SK"]), str(item["token"]), int(item["marked_at"]))
        for item in items if item.get("kind") == PENDING_KIND
    ]
    return sorted(hours, key=lambda pending: pending.hour)


def plan_run(markers: Iterable[PendingHour], *, now: float, settle_seconds: int,
             max_hours: int) -> RunPlan:
    """Split the markers into settled, young and left-over hours (oldest hours first).

    Young markers are recomputed too rather than skipped: the current hour is re-marked
    every time a window is flushed, so with a skip it would wait until its data stops.
    """
    ordered = sorted(markers, key=lambda pending: pending.hour)
    taken, left = ordered[:max_hours], ordered[max_hours:]
    settled = [m for m in taken if now - m.marked_at >= settle_seconds]
    young = [m for m in taken if now - m.marked_at < settle_seconds]
    return RunPlan(settled=settled, young=young, left=left)


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
    minutes: int = 1
    devices: set[str] = field(default_factory=set)


def hour_rollups(totals: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every roll-up item of the hour whose minute totals are ``totals``.

    A total read twice (the index is read page by page) counts once: the latest per
    (device, metric, minute) is kept.
    """
    unique: dict[tuple[str, str, int], Mapping[str, Any]] = {}
    for item in totals:
        if item.get("kind") != TOTAL_KIND:
            continue
        unique[(str(item["device_id"]), str(item["metric"]), int(item["bucket"]))] = item

    groups: dict[tuple[str, str, str, int, int], _Group] = {}
    device_sites: dict[str, str] = {}
    for (device_id, metric, bucket), item in sorted(unique.items()):
        site = str(item.get("site", ""))
        # A device reports one site (the manifest refuses a move); keep the first.
        device_sites.setdefault(device_id, site)
        stats = stats_from_item(item)
        for resolution in RESOLUTIONS:
            period = bucket - bucket % resolution
            for key in (("device", device_id, metric, resolution, period),
                        ("site", site, metric, resolution, period),
                        ("fleet", "", metric, resolution, period)):
                group = groups.get(key)
                if group is None:
                    groups[key] = _Group(stats.copy(), devices={device_id})
                else:
                    group.stats.merge(stats)
                    group.minutes += 1
                    group.devices.add(device_id)

    items = []
    for (scope, name, metric, resolution, period), group in sorted(groups.items()):
        items.append(rollup_item(
            scope, metric, resolution, period, group.stats,
            minutes=group.minutes, devices=len(group.devices),
            device_id=name if scope == "device" else None,
            site=device_sites[name] if scope == "device" else name if scope == "site" else None,
        ))
    return items


__all__ = [
    "RESOLUTIONS",
    "BadRequest",
    "PendingHour",
    "RunPlan",
    "hour_rollups",
    "pending_hours",
    "plan_run",
    "requested_hours",
]
