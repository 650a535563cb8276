"""Pure logic of the rollup: which device-minutes a stream batch touches, and their totals.

No AWS here. A stream record matters only when it inserts or modifies a *partial*; every
other item (the totals and pending-hour markers this function writes itself, the
scheduled rollup's roll-ups) is ignored, so no write of the platform's own feeds back.
REMOVE records are ignored too: in particular the ones DynamoDB's TTL emits (``userIdentity``
``{"type": "Service", "principalId": "dynamodb.amazonaws.com"}``) when a minute's partials
and totals expire, which must not recompute, let alone resurrect, anything.

A touched device-minute is merged from *all* of its partials (``minute_merge.py``): each
reading counts once however many copies the partials hold, and the losing versions of a
conflict are returned to be quarantined. One total per metric is written; a metric whose
only copies lost a conflict gets no total (and a total written before the winner arrived
is deleted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lambdas.shared.aggregates import (
    PARTIAL_KIND,
    BucketKey,
    hour_label,
    series_key,
    total_item,
    total_sort_key,
)
from lambdas.shared.partials import merge_partials
from lambdas.shared.readings import ReadingEntry

ROLLED_UP_EVENTS = frozenset({"INSERT", "MODIFY"})


class DeviceMinute(NamedTuple):
    device_id: str
    bucket: int


@dataclass(slots=True)
class MinuteOutcome:
    """What recomputing one device-minute gives: totals to put, totals to delete (metrics
    left with no reading), and conflict losers to quarantine."""

    minute: DeviceMinute
    totals: list[dict[str, Any]] = field(default_factory=list)
    stale_total_keys: list[dict[str, str]] = field(default_factory=list)
    losers: list[ReadingEntry] = field(default_factory=list)
    duplicates: int = 0


def touched_minute(event_name: str | None,
                   new_image: Mapping[str, Any] | None) -> DeviceMinute | None:
    """The device-minute whose totals a stream record changes, or None.

    ``new_image`` is the record's NewImage deserialised to resource-level values.
    """
    if event_name not in ROLLED_UP_EVENTS or not new_image:
        return None
    if new_image.get("kind") != PARTIAL_KIND:
        return None
    return DeviceMinute(str(new_image["device_id"]), int(new_image["bucket"]))


def minute_outcome(minute: DeviceMinute,
                   partials: Iterable[Mapping[str, Any]]) -> MinuteOutcome:
    """The totals of one device-minute recomputed from all of its partials."""
    partials = [item for item in partials if item.get("kind") == PARTIAL_KIND]
    merge = merge_partials(partials)
    outcome = MinuteOutcome(minute, losers=merge.losers)
    by_site = merge.site_stats()
    for metric, stats in sorted(merge.stats().items()):
        sites = by_site[metric]
        counts = merge.metric_counts[metric]
        key = BucketKey(minute.device_id, min(sites), metric, minute.bucket)
        outcome.totals.append(total_item(
            key, stats, len(partials), by_site=sites if len(sites) > 1 else None,
            duplicates=counts.duplicates, conflicts=counts.conflicts))
        outcome.duplicates += counts.duplicates
    for metric in sorted(merge.metrics() - set(merge.stats())):
        outcome.stale_total_keys.append({"PK": series_key(minute.device_id, metric),
                                         "SK": total_sort_key(minute.bucket)})
    return outcome


def touched_hours(minutes: Iterable[Mapping[str, Any]]) -> list[str]:
    """The hours (``YYYY-MM-DDTHH``) of the given total items (or anything with a
    ``bucket``, such as ``DeviceMinute._asdict()``), sorted, once each."""
    return sorted({hour_label(int(minute["bucket"])) for minute in minutes})


__all__ = ["ROLLED_UP_EVENTS", "DeviceMinute", "MinuteOutcome", "minute_outcome",
           "touched_hours", "touched_minute"]
