"""Exactly once per reading: one device-minute's readings merged from all of its partials.

Every copy of a reading (same ``(boot, seq)``) lands in the same device-minute, whatever
Kinesis record, shard window, replay or re-driven batch carried it, so merging the
minute's partials sees all of them:

* copies with the same content (event time, site and values, compared as numbers) are
  **duplicates**: the reading counts once;
* copies with different content are a **conflict**: the version with the smallest content
  (event time, then site, then values, then their exact text) is kept, whichever arrived
  first, and every other version is a loser, to be quarantined, and never summed.

Counts are per metric, so that for each metric the readings sent add up:
``copies = count + duplicates + conflicts`` (``MinuteMerge.metric_counts``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from lambdas.shared.aggregates import Stats
from lambdas.shared.readings import ReadingEntry


@dataclass(slots=True)
class MetricCounts:
    """How one metric's copies of readings were counted in one device-minute."""

    duplicates: int = 0
    conflicts: int = 0


@dataclass(slots=True)
class MinuteMerge:
    """The outcome of merging one device-minute: kept readings, their statistics per
    metric (and per metric and site), the losers of conflicts, and the per-metric counts."""

    kept: list[ReadingEntry] = field(default_factory=list)
    losers: list[ReadingEntry] = field(default_factory=list)
    metric_counts: dict[str, MetricCounts] = field(default_factory=dict)
    copies: int = 0

    def stats(self) -> dict[str, Stats]:
        """Exact statistics per metric over the kept readings."""
        per_metric: dict[str, Stats] = {}
        for entry in self.kept:
            for metric, value in entry.values:
                _add(per_metric, metric, value)
        return per_metric

    def site_stats(self) -> dict[str, dict[str, Stats]]:
        """Exact statistics per metric, then per site, over the kept readings."""
        per_metric: dict[str, dict[str, Stats]] = {}
        for entry in self.kept:
            for metric, value in entry.values:
                _add(per_metric.setdefault(metric, {}), entry.site, value)
        return per_metric

    def metrics(self) -> set[str]:
        """Every metric any copy carried (kept or not)."""
        return set(self.metric_counts)


def _add(stats: dict[str, Stats], key: str, value: Decimal) -> None:
    current = stats.get(key)
    if current is None:
        stats[key] = Stats.of(value)
    else:
        current.add(value)


def _order(entry: ReadingEntry) -> tuple[object, ...]:
    return entry.content, entry.text_key


def merge_minute(entries: Iterable[ReadingEntry]) -> MinuteMerge:
    """Merge the copies of one device-minute's readings (see the module docstring)."""
    copies: dict[tuple[int, int], list[ReadingEntry]] = {}
    merge = MinuteMerge()
    for entry in entries:
        copies.setdefault(entry.identity, []).append(entry)
        merge.copies += 1
        for metric, _ in entry.values:
            merge.metric_counts.setdefault(metric, MetricCounts())
    for identity in sorted(copies):
        versions = sorted(copies[identity], key=_order)
        kept = versions[0]
        merge.kept.append(kept)
        seen: list[ReadingEntry] = [kept]
        for copy in versions[1:]:
            if copy.content == seen[-1].content:
                _count(merge, copy, duplicate=True)
            else:
                seen.append(copy)
                merge.losers.append(copy)
                _count(merge, copy, duplicate=False)
    return merge


def _count(merge: MinuteMerge, copy: ReadingEntry, *, duplicate: bool) -> None:
    for metric, _ in copy.values:
        counts = merge.metric_counts[metric]
        if duplicate:
            counts.duplicates += 1
        else:
            counts.conflicts += 1


__all__ = ["MetricCounts", "MinuteMerge", "merge_minute"]
