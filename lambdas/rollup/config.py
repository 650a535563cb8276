"""Rollup configuration: one typed, frozen object read once from the environment.

Environment variables:

* ``AGGREGATES_TABLE`` (required): the aggregates table, whose partials the function reads
  and into which it writes the per-minute totals.
* ``QUARANTINE_TABLE`` (optional): the quarantine table, which receives the losing versions
  of conflicting readings; unset, they are only counted and logged.
* ``QUARANTINE_RETENTION_DAYS`` (default 14): days before such an item expires (TTL).
* ``MINUTE_RETENTION_DAYS`` (1 to 3650; unset, none expire): days, counted from a total's
  event-time minute, before it expires (TTL, ``lambdas/shared/retention.py``); the
  aggregator's partials use the same setting.
* ``READ_CONCURRENCY`` (default 8, 1 to 32): device-minutes whose partials are read at
  once (one Query each); a batch's reads are independent, its writes come after them.

Powertools reads its own settings (``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_TRACE_DISABLED``, ``LOG_LEVEL``); Terraform
sets them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.shared.settings import (
    ConfigError,
    optional,
    required,
    retention_days,
    whole_number,
)

DEFAULT_QUARANTINE_RETENTION_DAYS = 14
DEFAULT_READ_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class RollupConfig:
    aggregates_table: str
    quarantine_table: str | None = None
    quarantine_retention_days: int = DEFAULT_QUARANTINE_RETENTION_DAYS
    minute_retention_days: int | None = None
    read_concurrency: int = DEFAULT_READ_CONCURRENCY

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RollupConfig:
        return cls(
            aggregates_table=required(environ, "AGGREGATES_TABLE",
                                      "name the DynamoDB table holding the aggregates"),
            quarantine_table=optional(environ, "QUARANTINE_TABLE"),
            quarantine_retention_days=whole_number(
                environ, "QUARANTINE_RETENTION_DAYS", DEFAULT_QUARANTINE_RETENTION_DAYS,
                low=1, high=365),
            minute_retention_days=retention_days(environ, "MINUTE_RETENTION_DAYS"),
            read_concurrency=whole_number(environ, "READ_CONCURRENCY",
                                          DEFAULT_READ_CONCURRENCY, low=1, high=32),
        )


@functools.cache
def get_config() -> RollupConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return RollupConfig.from_environ(os.environ)


__all__ = ["ConfigError", "RollupConfig", "get_config"]
