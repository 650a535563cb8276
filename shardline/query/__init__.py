"""The Python query API: statistics of one device, one site or the fleet over time.

>>> from shardline.query import query
>>> result = query(site="plant-a", metrics="temperature_c", since="1h", resolution="5m")
>>> for row in result:
...     print(row.time, row.count, row.mean, row.min, row.max, row.stddev)
>>> result.to_csv(); result.to_json(); result.to_pandas()   # pandas: the [pandas] extra
>>> result.plot("plant-a.png")                               # mean over a min-max band

**Selection**: exactly one of ``device="dev-00001"``, ``site="plant-a"`` or
``fleet=True``. **Metrics**: one name or a list (``["temperature_c", "humidity_pct"]``).
**Range**: ``since`` / ``until`` as a duration ago (``15m``, ``2h``, ``1d``), an ISO 8601
time (``2026-01-01T10:00Z``, no offset means UTC) or a datetime, or ``interval=
"<since>/<until>"``; ``until`` defaults to now, ``since`` to 15 minutes ago. Every period
that overlaps [since, until) is returned whole. **Resolution**: ``1m``, ``5m`` or ``1h``.

**Rows** (``Row``, one per metric and period, oldest first, metrics in the order asked):
``time`` (period start, UTC), ``metric``, ``count``, ``mean``, ``min``, ``max``,
``stddev`` (population), ``sum`` (exact Decimal), ``devices``, ``source``. Statistics come
from the stored count, sum, min, max and sum of squares (exact decimals), so a mean or
stddev over 5 minutes is that of the readings, not an average of per-minute figures.

**Where each resolution is read from** (``Row.source``):

=============  ==================================================  ===================
resolution     device                                              site, fleet
=============  ==================================================  ===================
1m             minute totals (``total``), about a second behind    none: an error
5m, 1h         the scheduled rollup's roll-ups (``rollup``); the   roll-ups
               periods after its newest one, not rolled up yet,    (``rollup``) only
               merged from minute totals at read time (``totals``)
=============  ==================================================  ===================

Roll-ups lag their minutes by up to the scheduled rollup's period (default 5 minutes), so
a site's or the fleet's latest period appears after its next run.

**Errors** are ``QueryError`` (a ``ShardlineError``): ``UnknownDeviceError``,
``UnknownSiteError``, ``UnknownMetricError`` (a series with no data at all; a known series
with nothing in the range is an empty result), ``EmptyRangeError`` (until not after
since), ``MissingExtraError`` (``to_pandas`` without pandas), and malformed input.

The table is the stack's ``aggregates_table_name`` Terraform output unless ``table=``
names one; the client is ``boto3.client("dynamodb")`` unless ``client=`` is given.
``QuerySpec.parse(...)`` checks a request without reading anything and ``.run(reader)``
answers it (the CLI validates every flag before it resolves a table); ``AggregateReader``
reads single partitions (a device's minutes, one roll-up series).
"""

from __future__ import annotations

from shardline.query.api import QuerySpec, query
from shardline.query.errors import (
    EmptyRangeError,
    MissingExtraError,
    QueryError,
    UnknownDeviceError,
    UnknownMetricError,
    UnknownSiteError,
)
from shardline.query.model import RESOLUTION_SECONDS, QueryResult, Row
from shardline.query.reader import (
    RESOLUTIONS,
    AggregateReader,
    MetricSummary,
    MinuteAggregate,
    RollupAggregate,
    fleet_summary,
)
from shardline.query.timerange import TimeRange, parse_duration

__all__ = [
    "RESOLUTIONS",
    "RESOLUTION_SECONDS",
    "AggregateReader",
    "EmptyRangeError",
    "MetricSummary",
    "MinuteAggregate",
    "MissingExtraError",
    "QueryError",
    "QueryResult",
    "QuerySpec",
    "RollupAggregate",
    "Row",
    "TimeRange",
    "UnknownDeviceError",
    "UnknownMetricError",
    "UnknownSiteError",
    "fleet_summary",
    "parse_duration",
    "query",
]
