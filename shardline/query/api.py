"""``query()``: the selection, metrics, range and resolution asked for, checked, then read
from the item each resolution is stored as (the package docstring says which)."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lambdas.shared import aggregates
from lambdas.shared.aggregates import Stats
from lambdas.shared.telemetry import DEVICE_ID_PATTERN, METRIC_NAME_PATTERN, SITE_PATTERN
from shardline.query.errors import (
    QueryError,
    UnknownDeviceError,
    UnknownMetricError,
    UnknownSiteError,
)
from shardline.query.model import (
    RESOLUTION_SECONDS,
    SOURCE_ROLLUP,
    SOURCE_TOTAL,
    SOURCE_TOTALS,
    QueryResult,
    Row,
)
from shardline.query.reader import AggregateReader, MinuteAggregate
from shardline.query.timerange import TimeRange

DEFAULT_SINCE = "15m"
# A week of minutes: more periods than a table or a plot can show usefully.
MAX_PERIODS = 7 * 24 * 60
TABLE_OUTPUT = "aggregates_table_name"


@dataclass(frozen=True)
class QuerySpec:
    """A query's request, checked: what ``query()`` reads, before any read."""

    scope: str  # device, site or fleet
    name: str  # the device id or site; "" for the fleet
    metrics: tuple[str, ...]
    resolution: str
    span: TimeRange

    @classmethod
    def parse(cls, *, device: str | None = None, site: str | None = None,
              fleet: bool = False, metrics: str | Sequence[str] = (),
              since: str | datetime | None = None, until: str | datetime | None = None,
              interval: str | None = None, resolution: str = "1m",
              now: float | None = None) -> QuerySpec:
        """The request of ``query()``'s arguments; a one-line QueryError if any is wrong."""
        scope, name = _selection(device, site, fleet)
        names = _metric_names(metrics)
        resolution_s = _resolution(resolution, scope)
        now_s = time.time() if now is None else now
        if interval is None and since is None:
            since = DEFAULT_SINCE
        span = TimeRange.parse(since, until, now_s, interval=interval)
        periods = span.periods(resolution_s)
        if periods > MAX_PERIODS:
            raise QueryError(f"the range spans {periods} periods of {resolution} (at most "
                             f"{MAX_PERIODS}): use a coarser resolution or a shorter range")
        return cls(scope, name, tuple(names), resolution, span)

    def run(self, reader: AggregateReader) -> QueryResult:
        """Read the rows of every metric; an Unknown*Error when a series has none at all."""
        resolution_s = RESOLUTION_SECONDS[self.resolution]
        rows: list[Row] = []
        for metric in self.metrics:
            found = _rows(reader, self.scope, self.name, metric, resolution_s, self.span)
            if not found:
                _explain_nothing(reader, self.scope, self.name, metric)
            rows.extend(found)
        return QueryResult(self.scope, self.name, self.metrics, self.resolution,
                           self.span.since, self.span.until, tuple(rows))


def query(*, device: str | None = None, site: str | None = None, fleet: bool = False,
          metrics: str | Sequence[str], since: str | datetime | None = None,
          until: str | datetime | None = None, interval: str | None = None,
          resolution: str = "1m", table: str | None = None, client: Any = None,
          now: float | None = None) -> QueryResult:
    """count, mean, min, max and stddev of ``metrics`` of one device, one site or the
    fleet, per period of ``resolution`` (1m, 5m, 1h), over [since, until) or
    ``interval`` (``<since>/<until>``); see the package docstring. ``table`` defaults to
    the stack's ``aggregates_table_name`` output, ``client`` to ``boto3.client("dynamodb")``
    (which honours ``AWS_ENDPOINT_URL``). A QueryError says what is wrong."""
    spec = QuerySpec.parse(device=device, site=site, fleet=fleet, metrics=metrics,
                           since=since, until=until, interval=interval,
                           resolution=resolution, now=now)
    return spec.run(AggregateReader(_table_name(table), client or _default_client()))


def _selection(device: str | None, site: str | None, fleet: bool) -> tuple[str, str]:
    given = [label for label, value in (("device", device), ("site", site), ("fleet", fleet))
             if value]
    if len(given) != 1:
        raise QueryError("select exactly one of a device, a site or the fleet"
                         + (f" (got {' and '.join(given)})" if given else ""))
    if device:
        _check("device id", device, DEVICE_ID_PATTERN)
        return "device", device
    if site:
        _check("site", site, SITE_PATTERN)
        return "site", site
    return "fleet", ""


def _metric_names(metrics: str | Sequence[str]) -> list[str]:
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names:
        raise QueryError("name at least one metric, e.g. temperature_c")
    for metric in names:
        _check("metric name", metric, METRIC_NAME_PATTERN,
               "lowercase letters, digits and _, starting with a letter")
    return list(dict.fromkeys(names))  # each once, in the order given


def _check(what: str, value: str, pattern: str, rule: str = "") -> None:
    if not isinstance(value, str) or not re.search(pattern, value):
        raise QueryError(f"invalid {what} {value!r}" + (f": {rule}" if rule else ""))


def _resolution(resolution: str, scope: str) -> int:
    seconds = RESOLUTION_SECONDS.get(resolution)
    if seconds is None:
        raise QueryError(f"invalid resolution {resolution!r}: use "
                         f"{', '.join(RESOLUTION_SECONDS)}")
    if seconds == aggregates.BUCKET_SECONDS and scope != "device":
        raise QueryError(f"a {scope} has no per-minute data (minute totals are per device): "
                         "use resolution 5m or 1h")
    return seconds


def _table_name(table: str | None) -> str:
    from shardline.stack_outputs import resolve

    return resolve(table, TABLE_OUTPUT, flag="table= (the aggregates table's name)")


def _default_client() -> Any:
    import boto3

    return boto3.client("dynamodb")


def _rows(reader: AggregateReader, scope: str, name: str, metric: str, resolution_s: int,
          span: TimeRange) -> list[Row]:
    if resolution_s == aggregates.BUCKET_SECONDS:
        return [Row.of(minute.minute, metric, minute.stats, devices=1, source=SOURCE_TOTAL)
                for minute in reader.series(name, metric, since_s=span.since_s,
                                            until_s=span.last_second)]
    rollups = reader.rollups(scope, metric, resolution_s=resolution_s, since_s=span.since_s,
                             until_s=span.last_second, device=name or None,
                             site=name or None)
    rows = [Row.of(r.period, metric, r.stats, devices=r.devices, source=SOURCE_ROLLUP)
            for r in rollups]
    if scope == "device":
        # Periods after the newest roll-up are not rolled up yet: merge their minutes.
        after = (rollups[-1].period + resolution_s if rollups
                 else int(span.since_s) - int(span.since_s) % resolution_s)
        if after <= span.last_second:
            minutes = reader.series(name, metric, since_s=after, until_s=span.last_second)
            rows.extend(_merged_periods(minutes, metric, resolution_s))
    return rows


def _merged_periods(minutes: Sequence[MinuteAggregate], metric: str,
                    resolution_s: int) -> list[Row]:
    periods: dict[int, Stats] = {}
    for minute in minutes:
        period = minute.minute - minute.minute % resolution_s
        if period in periods:
            periods[period].merge(minute.stats)
        else:
            periods[period] = minute.stats.copy()
    return [Row.of(period, metric, stats, devices=1, source=SOURCE_TOTALS)
            for period, stats in sorted(periods.items())]


def _explain_nothing(reader: AggregateReader, scope: str, name: str, metric: str) -> None:
    """Raise when nothing was found because the device, site or metric is unknown; return
    when the series exists and the range simply holds none of it."""
    if scope == "device":
        if reader.has_items(aggregates.series_key(name, metric)):
            return
        reported = reader.device_metrics(name)
        if reported is None:
            raise UnknownDeviceError(f"unknown device {name!r}: the aggregates table holds "
                                     "no data of it")
        raise UnknownMetricError(f"unknown metric {metric!r} for device {name} (it reports "
                                 f"{', '.join(reported) or 'no metrics'})")
    if reader.has_items(aggregates.rollup_partition_key(scope, metric, site=name or None)):
        return
    if scope == "site" and reader.has_items(aggregates.fleet_series_key(metric)):
        raise UnknownSiteError(f"unknown site {name!r}: it has no roll-ups of {metric}, "
                               "though the fleet has")
    raise UnknownMetricError(f"unknown metric {metric!r}: the fleet has no roll-ups of it "
                             "(or the scheduled rollup has not run yet)")


__all__ = ["DEFAULT_SINCE", "MAX_PERIODS", "QuerySpec", "query"]
