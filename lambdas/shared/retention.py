"""Retention of the aggregates table's items: when each one expires (DynamoDB TTL on
``expires_at``, epoch seconds) and how a reader tells a live item from an expired one.

=================================  ==========================  ==========================
item                               retention                   counted from
=================================  ==========================  ==========================
partial (aggregator)               ``MINUTE_RETENTION_DAYS``   its minute (``bucket``)
minute total (rollup)              ``MINUTE_RETENTION_DAYS``   its minute (``bucket``)
5-minute / hourly roll-up          ``ROLLUP_RETENTION_DAYS``   its period (``period``)
=================================  ==========================  ==========================

**Event time, not write time.** An item expires ``retention`` after the start of the
event-time minute or period it describes, whenever it was written. Every item of one
minute then expires together: a partial re-written by a replayed window, or a total
recomputed when a late reading arrives, does not outlive its siblings, so a reader never
sees a minute half gone (a total whose partials were deleted, roll-ups of an hour missing
some of its minutes). Retention is a statement about the data's age, which is event time.

**A late reading for an expired minute.** Its partial is still written (the aggregator's
write path stays unconditional, so a replayed window rewrites exactly the same items), but
it is born expired: ``expires_at`` is already past, readers ignore it, the rollup finds no
live partial so writes no total, and TTL deletes it. The minute stays gone.

**Expired is not deleted.** DynamoDB deletes expired items eventually (typically within a
few days), so an expired item may still be returned by a read; every reader of these items
filters them out (``LIVE_FILTER`` in a Query, ``is_live`` in Python). An item without
``expires_at`` (written before retention was configured, the pending-hour markers) is live.

A function whose retention setting is unset writes no ``expires_at`` (Terraform always
sets it; unit tests of unrelated behaviour need not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

EXPIRES_AT = "expires_at"
SECONDS_PER_DAY = 86_400
# DynamoDB's TTL deletes only numbers of epoch *seconds*; these bounds are the variables'.
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650

# FilterExpression keeping live items; needs ``:now`` (N, epoch seconds) in the values.
LIVE_FILTER = "attribute_not_exists(expires_at) OR expires_at > :now"


def expires_at(event_epoch_s: int, retention_days: int) -> int:
    """The TTL of an item describing event time ``event_epoch_s``: ``retention_days``
    after it (see the module docstring for why event time)."""
    return int(event_epoch_s) + retention_days * SECONDS_PER_DAY


def with_expiry(items: Iterable[Mapping[str, Any]], retention_days: int | None,
                event_time_attribute: str) -> list[dict[str, Any]]:
    """Copies of ``items`` carrying ``expires_at`` from their ``event_time_attribute``
    (``bucket`` for partials and totals, ``period`` for roll-ups); unchanged when
    ``retention_days`` is None (retention not configured: kept forever)."""
    if retention_days is None:
        return [dict(item) for item in items]
    return [{**item, EXPIRES_AT: expires_at(int(item[event_time_attribute]), retention_days)}
            for item in items]


def is_live(item: Mapping[str, Any], now_s: float) -> bool:
    """False once the item's TTL has passed, deleted or not."""
    value = item.get(EXPIRES_AT)
    return value is None or int(value) > now_s


def live_filter(request: Mapping[str, Any], now_s: float) -> dict[str, Any]:
    """The Query/Scan ``request`` (low-level client arguments) with expired items
    filtered out, ANDed with the request's own FilterExpression if it has one."""
    own = request.get("FilterExpression")
    values = {**request.get("ExpressionAttributeValues", {}), ":now": {"N": str(int(now_s))}}
    return {**request,
            "FilterExpression": f"({own}) AND ({LIVE_FILTER})" if own else LIVE_FILTER,
            "ExpressionAttributeValues": values}


__all__ = ["EXPIRES_AT", "LIVE_FILTER", "MAX_RETENTION_DAYS", "MIN_RETENTION_DAYS",
           "SECONDS_PER_DAY", "expires_at", "is_live", "live_filter", "with_expiry"]
