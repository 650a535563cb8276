"""Query API configuration: one typed, frozen object read once from the environment.

Environment variables:

* ``AGGREGATES_TABLE`` (required): the aggregates table the queries read (its minute
  totals and the scheduled rollup's roll-ups).
* ``AWS_REGION`` (set by Lambda): the region the query page signs its requests for.

Powertools reads its own settings (``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_TRACE_DISABLED``, ``LOG_LEVEL``); Terraform
sets them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.shared.settings import ConfigError, required


@dataclass(frozen=True, slots=True)
class QueryApiConfig:
    aggregates_table: str
    region: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> QueryApiConfig:
        return cls(
            aggregates_table=required(environ, "AGGREGATES_TABLE",
                                      "name the DynamoDB table holding the aggregates"),
            region=required(environ, "AWS_REGION", "Lambda sets it: the function's region"))


@functools.cache
def get_config() -> QueryApiConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return QueryApiConfig.from_environ(os.environ)


__all__ = ["ConfigError", "QueryApiConfig", "get_config"]
