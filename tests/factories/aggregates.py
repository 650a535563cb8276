"""Aggregate factories: statistics of literal values, and minute totals as the rollup
writes them, including a minute whose readings came from more than one site."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from lambdas.shared.aggregates import BucketKey, Stats, total_item

METRIC = "temperature_c"


def stats_of(*values: str) -> Stats:
    """The exact statistics of ``values`` (decimal strings)."""
    result = Stats.of(Decimal(values[0]))
    for value in values[1:]:
        result.add(Decimal(value))
    return result


def site_total(device: str, bucket: int, values_by_site: Mapping[str, Sequence[str]], *,
               metric: str = METRIC, partials: int = 1) -> dict[str, Any]:
    """The total item of one (device, metric, minute) whose readings ``values_by_site``
    came from each site: with ``sites`` when there are several."""
    by_site = {site: stats_of(*values) for site, values in values_by_site.items()}
    whole = stats_of(*(value for values in values_by_site.values() for value in values))
    key = BucketKey(device, min(by_site), metric, bucket)
    return total_item(key, whole, partials, by_site)


__all__ = ["METRIC", "site_total", "stats_of"]
