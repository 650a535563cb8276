"""Scheduled-rollup configuration: one typed, frozen object read once from the environment.

Environment variables:

* ``AGGREGATES_TABLE`` (required): the aggregates table holding the minute totals (and
  their ``by_hour`` index), the pending-hour markers and the roll-ups written here.
* ``SETTLE_SECONDS`` (default 60, 0 to 3600): a pending-hour marker younger than this is
  rolled up but kept, because a global secondary index is eventually consistent on AWS:
  totals written just before the marker may not be readable from the index yet. The hour
  is recomputed on a later run and its marker deleted once it has settled. The local
  stack sets 0 (moto's index is consistent at once).
* ``MAX_HOURS_PER_RUN`` (default 24, 1 to 744): hours recomputed per invocation, oldest
  first; the others stay marked for the next run (a bound on the run's duration). An
  explicit backfill may name at most this many hours.
* ``POWERTOOLS_SERVICE_NAME`` (default ``scheduled-rollup``): service name in logs and
  metrics.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SERVICE_NAME = "scheduled-rollup"
DEFAULT_SETTLE_SECONDS = 60
DEFAULT_MAX_HOURS_PER_RUN = 24
MAX_SETTLE_SECONDS = 3600
MAX_HOURS_LIMIT = 744  # a month of hours


class ConfigError(RuntimeError):
    """The function's environment is missing or has an invalid setting."""


def _whole_number(environ: Mapping[str, str], name: str, default: int, low: int,
                  high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be from {low} to {high}, not {value}")
    return value


@dataclass(frozen=True, slots=True)
class ScheduledRollupConfig:
    aggregates_table: str
    settle_seconds: int = DEFAULT_SETTLE_SECONDS
    max_hours_per_run: int = DEFAULT_MAX_HOURS_PER_RUN
    service_name: str = DEFAULT_SERVICE_NAME

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ScheduledRollupConfig:
        table = environ.get("AGGREGATES_TABLE", "").strip()
        if not table:
            raise ConfigError(
                "AGGREGATES_TABLE is not set: name the DynamoDB table holding the aggregates"
            )
        return cls(
            aggregates_table=table,
            settle_seconds=_whole_number(environ, "SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS,
                                         0, MAX_SETTLE_SECONDS),
            max_hours_per_run=_whole_number(environ, "MAX_HOURS_PER_RUN",
                                            DEFAULT_MAX_HOURS_PER_RUN, 1, MAX_HOURS_LIMIT),
            service_name=environ.get("POWERTOOLS_SERVICE_NAME", "").strip()
            or DEFAULT_SERVICE_NAME,
        )


@functools.cache
def get_config() -> ScheduledRollupConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return ScheduledRollupConfig.from_environ(os.environ)


__all__ = ["ConfigError", "ScheduledRollupConfig", "get_config"]
