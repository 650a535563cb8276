"""Pure logic of the rollup: which minutes a stream batch touches, and their totals.

No AWS here. A stream record matters only when it inserts or modifies a *partial*; every
other item (the totals and pending-hour markers this function writes itself, the
scheduled rollup's roll-ups) is ignored, so no write of the platform's own feeds back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lambdas.shared.aggregates import (
    PARTIAL_KIND,
    BucketKey,
    Stats,
    hour_label,
    stats_from_item,
    total_item,
)

ROLLED_UP_EVENTS = frozenset({"INSERT", "MODIFY"})


def touched_minute(event_name: str | None, new_image: Mapping[str, Any] | None) -> BucketKey | None:
    """The (device, site, metric, minute) whose total a stream record changes, or None.

    ``new_image`` is the record's NewImage deserialised to resource-level values.
    """
    if event_name not in ROLLED_UP_EVENTS or not new_image:
        return None
    if new_image.get("kind") != PARTIAL_KIND:
        return None
    return BucketKey(
        device_id=str(new_image["device_id"]),
        site=str(new_image.get("site", "")),
        metric=str(new_image["metric"]),
        bucket=int(new_image["bucket"]),
    )


def minute_total(key: BucketKey, partials: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The total item of ``key`` recomputed from all of its partials (None if none)."""
    merged: Stats | None = None
    count = 0
    for item in partials:
        if item.get("kind") != PARTIAL_KIND:
            continue
        count += 1
        stats = stats_from_item(item)
        if merged is None:
            merged = stats
        else:
            merged.merge(stats)
    if merged is None:
        return None
    return total_item(key, merged, count)


def touched_hours(totals: Iterable[Mapping[str, Any]]) -> list[str]:
    """The hours (``YYYY-MM-DDTHH``) the given total items belong to, sorted, once each."""
    return sorted({hour_label(int(total["bucket"])) for total in totals})


__all__ = ["ROLLED_UP_EVENTS", "minute_total", "touched_hours", "touched_minute"]
