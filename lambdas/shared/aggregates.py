"""Aggregate model shared by the aggregator, the query client and the tests.

Statistics are exact: values are ``Decimal`` (see telemetry.py), so a sum computed from
partials in any grouping equals the producer's ground truth to the last digit.

DynamoDB layout of the ``aggregates`` table (PK/SK strings):

==============  ==========================  ===========================================
item            PK                          SK
==============  ==========================  ===========================================
partial         ``D#<device>``              ``P#<minute>#<shard>#<window start, epoch s>…``
total           ``DM#<device>#<metric>``    ``T#<minute>``
pending hour    ``RU#PENDING#<n>``          ``<hour>``
run lease       ``RU#LEASE``                ``scheduled-rollup``
device roll-up  ``DM#<device>#<metric>``    ``R5#<minute>`` / ``R60#<hour>``
site roll-up    ``SM#<site>#<metric>``      ``R5#<minute>`` / ``R60#<hour>``
fleet roll-up   ``FM#<metric>``             ``R5#<minute>`` / ``R60#<hour>``
==============  ==========================  ===========================================

A partial holds the readings of one device-minute from one shard window (its layout,
and how copies of a reading are merged, are in ``partials.py``). A total is one metric of
a device-minute merged from *every* partial of that device-minute, each reading counted
once, recomputed by the rollup function on the table's stream each time one is written
(so it is idempotent). Its ``partials`` attribute says how many partials it merges,
``duplicates`` and ``conflicts`` how many copies of this metric's readings it did not sum.

When a window is flushed in more than one piece (sealed because its state grew past the
seal size, terminated early by Lambda, or its final invoke reported failed records that
will be retried), the pieces are told apart by a ``#<segment>`` suffix on the SK (the
sequence number of the piece's first record), so the continuation never overwrites them.
A failed batch re-driven by ``shardline dlq replay`` is flushed under the segment
``replay-<startSequenceNumber>`` of its on-failure record, so replaying it twice rewrites
the same items and it never collides with its original window's partials.

``<minute>`` is the event-time bucket as ``YYYY-MM-DDTHH:MM`` (UTC), so a Query with
``SK BETWEEN "P#<from>" AND "P#<to>~"`` reads a time range in order.
``<hour>`` is ``YYYY-MM-DDTHH`` (UTC).

Totals (and only totals: the index is sparse) also carry the keys of the ``by_hour``
global secondary index: ``GSI1PK = H#<hour>#<n>`` and ``GSI1SK = <minute>#<device>#<metric>``,
where ``n`` is ``crc32(device) % HOUR_INDEX_SHARDS``. The shard number spreads one hour's
totals over several index partitions (write sharding), so a busy hour does not throttle
one partition; a reader of an hour queries every shard.

Pending-hour markers (``RU#PENDING#<n>``) and the scheduled rollup's lease
(``RU#LEASE``) are described in ``markers.py``.

A total of a minute whose readings came from more than one site (a device that moved
mid-minute) also carries ``sites``: a map ``{<site>: {"count", "sum", "min", "max",
"sumsq"}}`` of each site's own statistics; its own statistics stay the whole minute's and
its ``site`` is the first of them in sort order. A one-site total has no ``sites``
(``site_stats_from_total`` reads either form).

A roll-up item (``kind=rollup``) merges the totals of one 5-minute period (``R5#``, the
period's first minute; ``resolution_s=300``) or one hour (``R60#``, ``resolution_s=3600``)
for one device, one site or the whole fleet (``scope`` = device, site or fleet), with
``period`` (epoch seconds of its start), ``minutes`` (totals merged), ``devices``
(distinct devices in it) and the same statistics as a total. A site's roll-up merges only
its own share of each total (a device that moved counts in each site it reported from,
with the readings it reported there); device and fleet roll-ups merge whole totals. Keys
are deterministic, so recomputing an hour rewrites the same items.
"""

from __future__ import annotations

import calendar
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

BUCKET_SECONDS = 60
PARTIAL_PREFIX = "P#"
TOTAL_PREFIX = "T#"
PARTIAL_KIND = "partial"
TOTAL_KIND = "total"
ROLLUP_KIND = "rollup"

# The sparse ``by_hour`` index of totals (see the module docstring).
HOUR_INDEX_NAME = "by_hour"
HOUR_INDEX_PK = "GSI1PK"
HOUR_INDEX_SK = "GSI1SK"
HOUR_INDEX_SHARDS = 8
HOUR_SECONDS = 3600


# Roll-up resolutions (seconds) and the SK prefix of each.
FIVE_MINUTES = 300
ONE_HOUR = HOUR_SECONDS
ROLLUP_PREFIXES = {FIVE_MINUTES: "R5#", ONE_HOUR: "R60#"}
ROLLUP_SCOPES = ("device", "site", "fleet")
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


def hour_label(epoch_s: int) -> str:
    """``YYYY-MM-DDTHH`` (UTC) of the hour holding ``epoch_s``."""
    return time.strftime("%Y-%m-%dT%H", time.gmtime(epoch_s))


def parse_hour_label(label: str) -> int:
    """Start (epoch seconds) of the hour ``YYYY-MM-DDTHH``; ValueError if malformed."""
    parsed = time.strptime(label, "%Y-%m-%dT%H")
    if len(label) != len("YYYY-MM-DDTHH"):  # strptime accepts "2026-1-2T3"
        raise ValueError(f"not an hour label (YYYY-MM-DDTHH): {label!r}")
    return calendar.timegm(parsed)


def hour_index_shard(device_id: str) -> int:
    """The ``by_hour`` index shard of a device: stable across processes and releases
    (crc32, unlike ``hash()``, is not salted per process)."""
    return zlib.crc32(device_id.encode()) % HOUR_INDEX_SHARDS


def hour_index_key(hour: str, shard: int) -> str:
    return f"H#{hour}#{shard}"


def series_key(device_id: str, metric: str) -> str:
    return f"DM#{device_id}#{metric}"


def site_series_key(site: str, metric: str) -> str:
    return f"SM#{site}#{metric}"


def fleet_series_key(metric: str) -> str:
    return f"FM#{metric}"


def period_label(resolution_s: int, period_epoch_s: int) -> str:
    """A roll-up period as written: its first minute (5 minutes) or its hour (an hour)."""
    if resolution_s == FIVE_MINUTES:
        return minute_label(period_epoch_s)
    return hour_label(period_epoch_s)


def rollup_sort_key(resolution_s: int, period_epoch_s: int) -> str:
    """``R5#<minute>`` for a 5-minute period, ``R60#<hour>`` for an hour."""
    return f"{ROLLUP_PREFIXES[resolution_s]}{period_label(resolution_s, period_epoch_s)}"


def rollup_partition_key(scope: str, metric: str, *, device_id: str | None = None,
                         site: str | None = None) -> str:
    """The PK of a scope's roll-ups (``DM#``, ``SM#``, ``FM#``); ValueError when the
    scope is unknown or its device / site is not named."""
    if scope == "device" and device_id:
        return series_key(device_id, metric)
    if scope == "site" and site:
        return site_series_key(site, metric)
    if scope == "fleet":
        return fleet_series_key(metric)
    raise ValueError(f"a {scope} roll-up needs its {scope} named" if scope in ROLLUP_SCOPES
                     else f"unknown roll-up scope {scope!r}")


def rollup_range_bounds(resolution_s: int, from_epoch_s: int, to_epoch_s: int) -> tuple[str, str]:
    """Inclusive SK bounds selecting the roll-ups of periods that overlap [from, to]."""
    return (
        rollup_sort_key(resolution_s, from_epoch_s - from_epoch_s % resolution_s),
        rollup_sort_key(resolution_s, to_epoch_s - to_epoch_s % resolution_s),
    )


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


def stats_attributes(stats: Stats) -> dict[str, Any]:
    """The statistics as item attributes (``stats_from_item`` reads them back)."""
    return {"count": stats.count, "sum": stats.total, "min": stats.minimum,
            "max": stats.maximum, "sumsq": stats.sum_squares}


def total_item(key: BucketKey, stats: Stats, partials: int,
               by_site: Mapping[str, Stats] | None = None, *, duplicates: int = 0,
               conflicts: int = 0) -> dict[str, Any]:
    """The DynamoDB item (resource-level types) for one minute's total, merged from
    ``partials`` partial items; ``duplicates`` and ``conflicts`` count the copies of this
    metric's readings that were not summed (``minute_merge.py``).

    ``by_site`` (each site's own statistics of the minute) matters only when the minute's
    readings came from more than one site: the item then carries them as ``sites`` and its
    ``site`` is the first of them in sort order (module docstring). ValueError when their
    counts do not add up to ``stats.count``.
    """
    site = key.site
    sites: dict[str, Any] = {}
    if by_site:
        if sum(share.count for share in by_site.values()) != stats.count:
            raise ValueError(f"the sites' counts do not add up to the minute's {stats.count}")
        site = min(by_site)
        if len(by_site) > 1:
            sites = {name: stats_attributes(share) for name, share in sorted(by_site.items())}
    item = {
        "PK": series_key(key.device_id, key.metric),
        "SK": total_sort_key(key.bucket),
        HOUR_INDEX_PK: hour_index_key(hour_label(key.bucket), hour_index_shard(key.device_id)),
        HOUR_INDEX_SK: f"{minute_label(key.bucket)}#{key.device_id}#{key.metric}",
        "kind": TOTAL_KIND,
        "device_id": key.device_id,
        "site": site,
        "metric": key.metric,
        "bucket": key.bucket,
        "partials": partials,
        "duplicates": duplicates,
        "conflicts": conflicts,
        **stats_attributes(stats),
    }
    if sites:
        item["sites"] = sites
    return item


def site_stats_from_total(item: Mapping[str, Any]) -> dict[str, Stats]:
    """Each site's share of a total item: its ``sites`` map, or ``{site: stats}`` when the
    minute's readings all came from one site."""
    sites = item.get("sites")
    if not sites:
        return {str(item.get("site", "")): stats_from_item(item)}
    return {str(site): stats_from_item(share) for site, share in sites.items()}


def rollup_item(scope: str, metric: str, resolution_s: int, period: int, stats: Stats, *,
                minutes: int, devices: int, device_id: str | None = None,
                site: str | None = None) -> dict[str, Any]:
    """One roll-up item: ``scope`` device (give device_id and site), site (give site) or
    fleet, over the period of ``resolution_s`` seconds starting at ``period``."""
    item: dict[str, Any] = {
        "PK": rollup_partition_key(scope, metric, device_id=device_id, site=site),
        "SK": rollup_sort_key(resolution_s, period),
        "kind": ROLLUP_KIND,
        "scope": scope,
        "metric": metric,
        "resolution_s": resolution_s,
        "period": period,
        "minutes": minutes,
        "devices": devices,
        **stats_attributes(stats),
    }
    if device_id is not None:
        item["device_id"] = device_id
    if site is not None:
        item["site"] = site
    return item


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
