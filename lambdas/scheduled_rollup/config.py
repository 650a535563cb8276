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
* ``MINUTE_RETENTION_DAYS`` (1 to 3650; unset, none expire): the minute totals' retention; an
  hour whose first totals have expired is no longer recomputed (its roll-ups would lose
  those minutes), its markers are just deleted.
* ``ROLLUP_RETENTION_DAYS`` (1 to 3650, more than the minute retention; unset, none expire):
  days, counted from a roll-up's period, before it expires (TTL,
  ``lambdas/shared/retention.py``).

Powertools reads its own settings (``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_TRACE_DISABLED``, ``LOG_LEVEL``); Terraform
sets them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.shared.settings import ConfigError, required, retention_days, whole_number

DEFAULT_SETTLE_SECONDS = 60
DEFAULT_MAX_HOURS_PER_RUN = 24
MAX_SETTLE_SECONDS = 3600
MAX_HOURS_LIMIT = 744  # a month of hours


@dataclass(frozen=True, slots=True)
class ScheduledRollupConfig:
    aggregates_table: str
    settle_seconds: int = DEFAULT_SETTLE_SECONDS
    max_hours_per_run: int = DEFAULT_MAX_HOURS_PER_RUN
    minute_retention_days: int | None = None
    rollup_retention_days: int | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ScheduledRollupConfig:
        minute_days = retention_days(environ, "MINUTE_RETENTION_DAYS")
        rollup_days = retention_days(environ, "ROLLUP_RETENTION_DAYS")
        if minute_days is not None and (rollup_days or 0) <= minute_days:
            raise ConfigError(f"ROLLUP_RETENTION_DAYS ({rollup_days or 'unset'}) must be more than "
                              f"MINUTE_RETENTION_DAYS ({minute_days})")
        return cls(
            aggregates_table=required(environ, "AGGREGATES_TABLE",
                                      "name the DynamoDB table holding the aggregates"),
            settle_seconds=whole_number(environ, "SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS,
                                        low=0, high=MAX_SETTLE_SECONDS),
            max_hours_per_run=whole_number(environ, "MAX_HOURS_PER_RUN",
                                           DEFAULT_MAX_HOURS_PER_RUN, low=1,
                                           high=MAX_HOURS_LIMIT),
            minute_retention_days=minute_days,
            rollup_retention_days=rollup_days,
        )


@functools.cache
def get_config() -> ScheduledRollupConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return ScheduledRollupConfig.from_environ(os.environ)


__all__ = ["ConfigError", "ScheduledRollupConfig", "get_config"]
