"""Rollup configuration: one typed, frozen object read once from the environment.

Environment variables:

* ``AGGREGATES_TABLE`` (required): the aggregates table, whose partials the function reads
  and into which it writes the per-minute totals.
* ``POWERTOOLS_SERVICE_NAME`` (default ``rollup``): service name in logs and metrics.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SERVICE_NAME = "rollup"


class ConfigError(RuntimeError):
    """The function's environment is missing or has an invalid setting."""


@dataclass(frozen=True, slots=True)
class RollupConfig:
    aggregates_table: str
    service_name: str = DEFAULT_SERVICE_NAME

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RollupConfig:
        table = environ.get("AGGREGATES_TABLE", "").strip()
        if not table:
            raise ConfigError(
                "AGGREGATES_TABLE is not set: name the DynamoDB table holding the aggregates"
            )
        service = environ.get("POWERTOOLS_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
        return cls(aggregates_table=table, service_name=service)


@functools.cache
def get_config() -> RollupConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return RollupConfig.from_environ(os.environ)


__all__ = ["ConfigError", "RollupConfig", "get_config"]
