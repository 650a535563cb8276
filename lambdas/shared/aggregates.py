"""Aggregate model shared by the aggregator, the query client and the tests.

Statistics are exact: values are ``Decimal`` (see telemetry.py), so a sum computed from
partials in any grouping equals the producer's ground truth to the last digit.

DynamoDB layout of the ``aggregates`` table (PK/SK strings):

=========  ==============================  ===============================================
item       PK                              SK
=========  ==============================  ===============================================
partial    ``DM#<device>#<metric>``        ``P#<minute>#<shard>#<window start, epoch s>``
total      ``DM#<device>#<metric>``        ``T#<minute>``
=========  ==============================  ===============================================

A total is the sum of every partial of its (device, metric, minute), recomputed from all
of them by the rollup function on the table's stream each time one is written (so it is
idempotent: a replayed partial recomputes the same total). Its ``partials`` attribute
says how many partials it sums.

When a window is flushed in more than one piece (Lambda terminated it early because the
state reached its cap, or its final invoke reported failed records that will be retried),
the pieces are told apart by a ``#<segment>`` suffix on the SK (the sequence number of the
piece's first record), so the continuation of the window never overwrites them.
A failed batch re-driven by ``shardline dlq replay`` is flushed under the segment
``replay-<startSequenceNumber>`` of its on-failure record, so replaying it twice rewrites
the same items and it never collides with its original window's partials.

``<minute>`` is the event-time bucket as ``YYYY-MM-DDTHH:MM`` (UTC), so a Query with
``SK BETWEEN "P#<from>" AND "P#<to>~"`` reads a time range in order. A partial is keyed by
(device, metric, bucket, shard, arrival window): replaying a window rewrites the same
item, which is what makes re-delivery idempotent (DESIGN.md, "Correctness model").
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

BUCKET_SECONDS = 60
PARTIAL_PREFIX = "P#"
TOTAL_PREFIX = "T#"
PARTIAL_KIND = "partial"
TOTAL_KIND = "total"
# Window state keys join these fields; none of them may contain it (telemetry patterns).
STATE_SEPARATOR = "|"

# Stats arithmetic runs in this context, whatever the caller's: 38 significant digits is
# what a DynamoDB number holds, so every result is storable, and realistic readings (up to
# ~16 digits) keep sums *and* sums of squares exact, hence independent of merge order. The
# default context (28 digits) silently rounds squares of such readings.
STATS_CONTEXT = Context(prec=38, traps=[InvalidOperation, DivisionByZero, Overflow])


@dataclass(slots=True)
class Stats:
    """count, sum, min, max and sum of squares of a set of values."""

    count: int
    total: Decimal
    minimum: Decimal
    maximum: Decimal
    sum_squares: Decimal

    @classmethod
    def of(cls, value: Decimal) -> Stats:
        return cls(1, value, value, value, STATS_CONTEXT.multiply(value, value))

    def add(self, value: Decimal) -> None:
        self.count += 1
        self.total = STATS_CONTEXT.add(self.total, value)
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value
        self.sum_squares = STATS_CONTEXT.fma(value, value, self.sum_squares)

    def merge(self, other: Stats) -> None:
        self.count += other.count
        self.total = STATS_CONTEXT.add(self.total, other.total)
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        self.sum_squares = STATS_CONTEXT.add(self.sum_squares, other.sum_squares)

    def copy(self) -> Stats:
        return Stats(self.count, self.total, self.minimum, self.maximum, self.sum_squares)

    @property
    def mean(self) -> Decimal:
        return STATS_CONTEXT.divide(self.total, self.count)

    def to_compact(self) -> list[Any]:
        """JSON-safe compact form used in window state: [count, sum, min, max, sumsq]."""
        return [
            self.count,
            str(self.total),
            str(self.minimum),
            str(self.maximum),
            str(self.sum_squares),
        ]

    @classmethod
    def from_compact(cls, data: list[Any]) -> Stats:
        count, total, minimum, maximum, sum_squares = data
        return cls(int(count), Decimal(total), Decimal(minimum), Decimal(maximum),
                   Decimal(sum_squares))


def bucket_start(ts_ms: int) -> int:
    """Start (epoch seconds) of the one-minute event-time bucket holding ``ts_ms``."""
    seconds = ts_ms // 1000
    return seconds - seconds % BUCKET_SECONDS


def minute_label(bucket_epoch_s: int) -> str:
    """``YYYY-MM-DDTHH:MM`` (UTC) for a bucket start."""
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(bucket_epoch_s))


def series_key(device_id: str, metric: str) -> str:
    return f"DM#{device_id}#{metric}"


def partial_sort_key(
    bucket_epoch_s: int, shard_id: str, window_start_s: int, segment: str | None = None
) -> str:
    key = f"{PARTIAL_PREFIX}{minute_label(bucket_epoch_s)}#{shard_id}#{window_start_s}"
    return f"{key}#{segment}" if segment else key


def range_bounds(from_epoch_s: int, to_epoch_s: int) -> tuple[str, str]:
    """Inclusive SK bounds selecting partials of buckets in [from, to]."""
    return (
        f"{PARTIAL_PREFIX}{minute_label(bucket_start(from_epoch_s * 1000))}",
        f"{PARTIAL_PREFIX}{minute_label(bucket_start(to_epoch_s * 1000))}~",
    )


def minute_partials_prefix(bucket_epoch_s: int) -> str:
    """SK prefix of every partial of one minute (``begins_with`` in a Query)."""
    return f"{PARTIAL_PREFIX}{minute_label(bucket_epoch_s)}#"


def total_sort_key(bucket_epoch_s: int) -> str:
    return f"{TOTAL_PREFIX}{minute_label(bucket_epoch_s)}"


def total_range_bounds(from_epoch_s: int, to_epoch_s: int) -> tuple[str, str]:
    """Inclusive SK bounds selecting the totals of buckets in [from, to]."""
    return (
        total_sort_key(bucket_start(from_epoch_s * 1000)),
        total_sort_key(bucket_start(to_epoch_s * 1000)),
    )


@dataclass(frozen=True, slots=True)
class BucketKey:
    """Identity of one aggregation cell inside a shard's window."""

    device_id: str
    site: str
    metric: str
    bucket: int  # epoch seconds, start of the event-time minute

    def to_state_key(self) -> str:
        return STATE_SEPARATOR.join((self.device_id, self.site, self.metric, str(self.bucket)))

    @classmethod
    def from_state_key(cls, key: str) -> BucketKey:
        device_id, site, metric, bucket = key.split(STATE_SEPARATOR)
        return cls(device_id, site, metric, int(bucket))


def partial_item(
    key: BucketKey,
    stats: Stats,
    shard_id: str,
    window_start_s: int,
    segment: str | None = None,
) -> dict[str, Any]:
    """The DynamoDB item (resource-level types) for one partial aggregate.

    ``segment`` is only given for a piece of a window flushed in several pieces (see the
    module docstring); it is then also stored as the ``segment`` attribute.
    """
    item = {
        "PK": series_key(key.device_id, key.metric),
        "SK": partial_sort_key(key.bucket, shard_id, window_start_s, segment),
        "kind": PARTIAL_KIND,
        "device_id": key.device_id,
        "site": key.site,
        "metric": key.metric,
        "bucket": key.bucket,
        "shard_id": shard_id,
        "window_start": window_start_s,
        "count": stats.count,
        "sum": stats.total,
        "min": stats.minimum,
        "max": stats.maximum,
        "sumsq": stats.sum_squares,
    }
    if segment:
        item["segment"] = segment
    return item


def total_item(key: BucketKey, stats: Stats, partials: int) -> dict[str, Any]:
    """The DynamoDB item (resource-level types) for one minute's total of ``partials``."""
    return {
        "PK": series_key(key.device_id, key.metric),
        "SK": total_sort_key(key.bucket),
        "kind": TOTAL_KIND,
        "device_id": key.device_id,
        "site": key.site,
        "metric": key.metric,
        "bucket": key.bucket,
        "partials": partials,
        "count": stats.count,
        "sum": stats.total,
        "min": stats.minimum,
        "max": stats.maximum,
        "sumsq": stats.sum_squares,
    }


def stats_from_item(item: Mapping[str, Any]) -> Stats:
    """Read the statistics back from a partial or total item (resource-level types)."""
    return Stats(
        int(item["count"]),
        Decimal(item["sum"]),
        Decimal(item["min"]),
        Decimal(item["max"]),
        Decimal(item["sumsq"]),
    )


def combine(items: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, int], Stats]:
    """Sum partial (or total) items into totals per (device, metric, bucket)."""
    totals: dict[tuple[str, str, int], Stats] = {}
    for item in items:
        cell = (str(item["device_id"]), str(item["metric"]), int(item["bucket"]))
        stats = stats_from_item(item)
        if cell in totals:
            totals[cell].merge(stats)
        else:
            totals[cell] = stats
    return totals
