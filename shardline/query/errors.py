"""What a query can get wrong, each a ShardlineError (one line and a non-zero exit in the
CLI; catch ``QueryError`` in Python for all of them)."""

from __future__ import annotations

from shardline.errors import ShardlineError


class QueryError(ShardlineError):
    """A query that cannot be answered as asked: bad selection, metric, time or
    resolution."""


class EmptyRangeError(QueryError):
    """The time range holds no time: its end is not after its start."""


class UnknownDeviceError(QueryError):
    """The aggregates table holds nothing of this device."""


class UnknownSiteError(QueryError):
    """No roll-up of this site exists for the metric, although the fleet's does."""


class UnknownMetricError(QueryError):
    """The device (or the fleet) never reported this metric."""


class MissingExtraError(QueryError):
    """An optional dependency (pandas) is not installed."""


__all__ = ["EmptyRangeError", "MissingExtraError", "QueryError", "UnknownDeviceError",
           "UnknownMetricError", "UnknownSiteError"]
