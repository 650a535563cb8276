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

from lambdas.shared.settings import ConfigError, required, service_name

DEFAULT_SERVICE_NAME = "rollup"


@dataclass(frozen=True, slots=True)
class RollupConfig:
    aggregates_table: str
    service_name: str = DEFAULT_SERVICE_NAME

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RollupConfig:
        return cls(
            aggregates_table=required(environ, "AGGREGATES_TABLE",
                                      "name the DynamoDB table holding the aggregates"),
            service_name=service_name(environ, DEFAULT_SERVICE_NAME),
        )


@functools.cache
def get_config() -> RollupConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return RollupConfig.from_environ(os.environ)


__all__ = ["ConfigError", "RollupConfig", "get_config"]
