"""Aggregator configuration: one typed, frozen object read once from the environment.

Environment variables:

* ``AGGREGATES_TABLE`` (required): DynamoDB table receiving the partial aggregates.
* ``QUARANTINE_TABLE`` (optional): DynamoDB table receiving every quarantined user record;
  unset, quarantined records are only counted and logged.
* ``QUARANTINE_RETENTION_DAYS`` (default 14): days before a quarantine item expires (TTL).
* ``MINUTE_RETENTION_DAYS`` (1 to 3650; unset, none expire): days, counted from a partial's
  event-time minute, before it expires (TTL, ``lambdas/shared/retention.py``).
* ``WINDOW_SEAL_BYTES`` (default 600000, 1000 to 700000): a window's state is written as a
  piece, and restarted, before it would pass this size (``window_state.py``). The upper
  bound leaves room for one more record: a 1 MB Kinesis record adds well under 300 KB of
  readings, so the state never reaches Lambda's 1 MB.
* ``WRITE_MAX_ATTEMPTS`` (default 8): BatchWriteItem calls per 25-item chunk, retries included.
* ``WRITE_BASE_DELAY_MS`` (default 50): first backoff ceiling (full jitter, doubling).
* ``WRITE_MAX_DELAY_MS`` (default 2000): largest backoff ceiling.
* ``WRITE_MAX_WORKERS`` (default 4): BatchWriteItem calls in flight at once.

Powertools reads its own settings (``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_TRACE_DISABLED``, ``LOG_LEVEL``); Terraform
sets them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.aggregator.window_state import DEFAULT_SEAL_BYTES
from lambdas.shared.settings import (
    ConfigError,
    optional,
    required,
    retention_days,
    whole_number,
)

MAX_SEAL_BYTES = 700_000


@dataclass(frozen=True, slots=True)
class WriteTuning:
    """Retry budget and parallelism of the partial-aggregate writes."""

    max_attempts: int = 8
    base_delay_s: float = 0.05
    max_delay_s: float = 2.0
    max_workers: int = 4


DEFAULT_QUARANTINE_RETENTION_DAYS = 14


@dataclass(frozen=True, slots=True)
class AggregatorConfig:
    aggregates_table: str
    write: WriteTuning = WriteTuning()
    quarantine_table: str | None = None
    quarantine_retention_days: int = DEFAULT_QUARANTINE_RETENTION_DAYS
    seal_bytes: int = DEFAULT_SEAL_BYTES
    minute_retention_days: int | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AggregatorConfig:
        table = required(environ, "AGGREGATES_TABLE",
                         "name the DynamoDB table for partial aggregates")
        defaults = WriteTuning()
        write = WriteTuning(
            max_attempts=_positive_int(environ, "WRITE_MAX_ATTEMPTS", defaults.max_attempts),
            base_delay_s=_millis(environ, "WRITE_BASE_DELAY_MS", defaults.base_delay_s),
            max_delay_s=_millis(environ, "WRITE_MAX_DELAY_MS", defaults.max_delay_s),
            max_workers=_positive_int(environ, "WRITE_MAX_WORKERS", defaults.max_workers),
        )
        quarantine_table = optional(environ, "QUARANTINE_TABLE")
        retention = _positive_int(environ, "QUARANTINE_RETENTION_DAYS",
                                  DEFAULT_QUARANTINE_RETENTION_DAYS)
        seal_bytes = whole_number(environ, "WINDOW_SEAL_BYTES", DEFAULT_SEAL_BYTES,
                                  low=1_000, high=MAX_SEAL_BYTES)
        minute_retention = retention_days(environ, "MINUTE_RETENTION_DAYS")
        return cls(aggregates_table=table, write=write, quarantine_table=quarantine_table,
                   quarantine_retention_days=retention, seal_bytes=seal_bytes,
                   minute_retention_days=minute_retention)


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    return whole_number(environ, name, default, low=1)


def _millis(environ: Mapping[str, str], name: str, default_s: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default_s
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of milliseconds") from None
    if not 0 <= value <= 60_000:
        raise ConfigError(f"{name}={raw!r} must be between 0 and 60000 ms")
    return value / 1000


@functools.cache
def get_config() -> AggregatorConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return AggregatorConfig.from_environ(os.environ)


__all__ = ["AggregatorConfig", "ConfigError", "WriteTuning", "get_config"]
