"""A query's answer: typed rows, and the same rows as CSV, JSON or a pandas DataFrame."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lambdas.shared.aggregates import STATS_CONTEXT, Stats
from shardline.query.errors import MissingExtraError

SCOPES = ("device", "site", "fleet")
# Seconds of each resolution a query accepts.
RESOLUTION_SECONDS = {"1m": 60, "5m": 300, "1h": 3600}
# Where each row comes from (``Row.source``).
SOURCE_TOTAL = "total"  # one minute total (the rollup function, on the table's stream)
SOURCE_ROLLUP = "rollup"  # one roll-up item (the scheduled rollup)
SOURCE_TOTALS = "totals"  # minute totals merged at read time (a period not rolled up yet)

COLUMNS = ("time", "metric", "count", "mean", "min", "max", "stddev", "sum", "devices",
           "source")


def stddev_of(stats: Stats) -> Decimal:
    """Population standard deviation from count, sum and sum of squares (exact decimal
    arithmetic; never negative)."""
    mean = stats.mean
    variance = STATS_CONTEXT.subtract(STATS_CONTEXT.divide(stats.sum_squares, stats.count),
                                      STATS_CONTEXT.multiply(mean, mean))
    return STATS_CONTEXT.sqrt(max(variance, Decimal(0)))


@dataclass(frozen=True, slots=True)
class Row:
    """One metric over one period (a minute, 5 minutes or an hour) of the selection."""

    time: datetime  # start of the period, UTC
    metric: str
    count: int  # readings
    mean: float
    min: float
    max: float
    stddev: float  # population standard deviation of the readings
    sum: Decimal  # exact
    devices: int  # distinct devices with readings in the period
    source: str  # total, rollup or totals (see the package docstring)

    @classmethod
    def of(cls, period_s: int, metric: str, stats: Stats, *, devices: int,
           source: str) -> Row:
        return cls(datetime.fromtimestamp(period_s, UTC), metric, stats.count,
                   float(stats.mean), float(stats.minimum), float(stats.maximum),
                   float(stddev_of(stats)), stats.total, devices, source)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: the time as ISO 8601 (``Z``), the exact sum as a decimal string."""
        return {"time": self.time.strftime("%Y-%m-%dT%H:%M:%SZ"), "metric": self.metric,
                "count": self.count, "mean": self.mean, "min": self.min, "max": self.max,
                "stddev": self.stddev, "sum": str(self.sum), "devices": self.devices,
                "source": self.source}


@dataclass(frozen=True)
class QueryResult:
    """The rows of one query, oldest first and by metric in the order asked, with what
    was asked."""

    scope: str  # device, site or fleet
    name: str  # the device id or site; "" for the fleet
    metrics: tuple[str, ...]
    resolution: str  # 1m, 5m or 1h
    since: datetime
    until: datetime
    rows: tuple[Row, ...] = field(default=())

    @property
    def selection(self) -> str:
        """``device dev-00001``, ``site plant-a`` or ``fleet``."""
        return f"{self.scope} {self.name}" if self.name else self.scope

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def series(self, metric: str) -> list[Row]:
        """The rows of one metric, oldest first."""
        return [row for row in self.rows if row.metric == metric]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [row.as_dict() for row in self.rows]

    def to_json(self) -> str:
        """A JSON array of rows (``Row.as_dict``)."""
        return json.dumps(self.to_dicts(), indent=2) + "\n"

    def to_csv(self) -> str:
        """CSV with a header row; the columns of ``Row.as_dict``."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.to_dicts())
        return buffer.getvalue()

    def to_pandas(self) -> Any:
        """A DataFrame, one row per Row, ``time`` as tz-aware UTC datetimes and ``sum``
        as Decimal; needs the ``pandas`` extra (``pip install 'shardline[pandas]'``)."""
        try:
            import pandas
        except ImportError:
            raise MissingExtraError("to_pandas needs pandas: pip install 'shardline[pandas]'"
                                    ) from None
        return pandas.DataFrame([{column: getattr(row, column) for column in COLUMNS}
                                 for row in self.rows], columns=list(COLUMNS))

    def plot(self, path: Any) -> Any:
        """Draw the result to an image file (``shardline.query.plot.save_plot``)."""
        from shardline.query.plot import save_plot

        return save_plot(self, path)


__all__ = ["COLUMNS", "RESOLUTION_SECONDS", "SCOPES", "QueryResult", "Row", "stddev_of"]
