"""The readings of one device-minute, in the compact text the aggregator and rollup share.

A reading is identified by (device_id, boot, seq) (docs/data-contract.md). Duplicates of a
reading share its event time, hence its (device, minute), so exactly-once counting needs
only the readings of one device-minute side by side: the aggregator keeps them, per
device-minute *cell*, in its window state and writes them into its partial items; the
rollup merges every partial of the minute (``minute_merge.py``) and counts each reading once.

A cell is three strings, JSON-safe and cheap to append to::

    sites    "plant-a" or "plant-a,plant-b"             (in order of first appearance)
    metrics  "battery_v,humidity_pct,temperature_c"    (in order of first appearance)
    readings "917 12345 3.71,40.2,21.4;918 13345@1 3.70,,21.5;..."

One reading is ``<seq>[/<boot>] <ms into the minute>[@<site index>] <values>``: the values
follow the order of ``metrics``, empty where the reading has no such metric, trailing
empties left out; ``/<boot>`` is left out for boot 0 and ``@<site index>`` for site 0.
Values are the exact decimal text the device sent, so decoding gives back the same
``Decimal`` (``21.40`` stays ``21.40``). No identifier can contain a separator
(`` ``, ``,``, ``;``, ``/``, ``@``, ``|``): the contract's grammar excludes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MS_PER_MINUTE = 60_000
# JSON around one cell of a window state: its key, quotes, commas, brackets, the count.
CELL_OVERHEAD = 48
READING_SEPARATOR = ";"
LIST_SEPARATOR = ","


@dataclass(frozen=True, slots=True)
class ReadingEntry:
    """One reading of a device-minute: its identity and its content."""

    boot: int
    seq: int
    ts_ms: int
    site: str
    values: tuple[tuple[str, Decimal], ...]  # (metric, value), sorted by metric

    @property
    def identity(self) -> tuple[int, int]:
        return self.boot, self.seq

    @property
    def content(self) -> tuple[Any, ...]:
        """What two copies of a reading must share to be duplicates (values compared as
        numbers: ``21.4`` and ``21.40`` are the same reading)."""
        return self.ts_ms, self.site, self.values

    @property
    def text_key(self) -> tuple[str, ...]:
        """The exact text of the values: breaks ties between equal contents."""
        return tuple(str(value) for _, value in self.values)

    @classmethod
    def of(cls, *, boot: int, seq: int, ts_ms: int, site: str,
           metrics: Mapping[str, Decimal]) -> ReadingEntry:
        return cls(boot, seq, ts_ms, site, tuple(sorted(metrics.items())))


class CellWriter:
    """Appends readings to one cell, keeping what was there as text (never re-parsed)."""

    __slots__ = (
        "_metric_index",
        "_parts",
        "_site_index",
        "bucket",
        "count",
        "metrics",
        "sites",
        "size",
    )

    def __init__(self, bucket: int, sites: list[str] | None = None,
                 metrics: list[str] | None = None, text: str = "", count: int = 0) -> None:
        self.bucket = bucket
        self.sites = sites or []
        self.metrics = metrics or []
        self._site_index = {site: i for i, site in enumerate(self.sites)}
        self._metric_index = {metric: i for i, metric in enumerate(self.metrics)}
        self._parts = [text] if text else []
        self.count = count
        # What the cell adds to a JSON state, near enough to decide when to seal a piece
        # (``window_state.py``): its strings and the list around them.
        self.size = CELL_OVERHEAD + len(text) + sum(map(len, self.sites)) + \
            sum(map(len, self.metrics)) + len(self.sites) + len(self.metrics)

    @classmethod
    def from_compact(cls, bucket: int, compact: Sequence[Any]) -> CellWriter:
        sites, metrics, text, count = _unpack(compact)
        return cls(bucket, sites, metrics, text, count)

    def _values_text(self, entry: ReadingEntry) -> str:
        """The reading's values in the order of ``metrics`` (new metrics appended)."""
        metrics = self.metrics
        if len(entry.values) == len(metrics) and all(
                metric == name for (metric, _), name in zip(entry.values, metrics, strict=True)):
            return LIST_SEPARATOR.join([str(value) for _, value in entry.values])
        values: list[str] = []
        for metric, value in entry.values:
            position = self._index(metric, metrics, self._metric_index)
            if position >= len(values):
                values.extend([""] * (position + 1 - len(values)))
            values[position] = str(value)
        return LIST_SEPARATOR.join(values)

    def append(self, entry: ReadingEntry) -> None:
        site = self._site_index.get(entry.site)
        if site is None:
            site = self._index(entry.site, self.sites, self._site_index)
        values = self._values_text(entry)
        identity = f"{entry.seq}/{entry.boot}" if entry.boot else str(entry.seq)
        offset = entry.ts_ms - self.bucket * 1000
        where = f"{offset}@{site}" if site else str(offset)
        part = f"{identity} {where} {values}"
        self._parts.append(part)
        self.count += 1
        self.size += len(part) + 1

    def checkpoint(self) -> tuple[int, int, int, int, int]:
        return len(self._parts), self.count, len(self.sites), len(self.metrics), self.size

    def restore(self, checkpoint: tuple[int, int, int, int, int]) -> None:
        """Undo every append since ``checkpoint`` (a record is committed whole or not)."""
        parts, self.count, sites, metrics, self.size = checkpoint
        del self._parts[parts:], self.sites[sites:], self.metrics[metrics:]
        self._site_index = {site: i for i, site in enumerate(self.sites)}
        self._metric_index = {metric: i for i, metric in enumerate(self.metrics)}

    def to_compact(self) -> list[Any]:
        return [LIST_SEPARATOR.join(self.sites), LIST_SEPARATOR.join(self.metrics),
                READING_SEPARATOR.join(self._parts), self.count]

    def _index(self, name: str, names: list[str], index: dict[str, int]) -> int:
        position = index.get(name)
        if position is None:
            position = index[name] = len(names)
            names.append(name)
            self.size += len(name) + 1
        return position


def _unpack(compact: Sequence[Any]) -> tuple[list[str], list[str], str, int]:
    sites, metrics, text, count = compact
    return (str(sites).split(LIST_SEPARATOR) if sites else [],
            str(metrics).split(LIST_SEPARATOR) if metrics else [], str(text), int(count))


def parse_cell(bucket: int, sites: str, metrics: str, text: str) -> Iterator[ReadingEntry]:
    """The readings of a cell (or of a partial item's ``sites``/``metrics``/``readings``).

    Raises ``ValueError`` on text this module did not write.
    """
    site_names = sites.split(LIST_SEPARATOR) if sites else []
    metric_names = metrics.split(LIST_SEPARATOR) if metrics else []
    base_ms = bucket * 1000
    for reading in text.split(READING_SEPARATOR) if text else ():
        identity, where, values = reading.split(" ", 2)
        seq, _, boot = identity.partition("/")
        offset, _, site = where.partition("@")
        ts_ms = base_ms + int(offset)
        if not 0 <= ts_ms - base_ms < MS_PER_MINUTE:
            raise ValueError(f"reading {reading!r} lies outside its minute")
        pairs = [(metric_names[i], Decimal(value))
                 for i, value in enumerate(values.split(LIST_SEPARATOR)) if value]
        yield ReadingEntry(int(boot or 0), int(seq), ts_ms, site_names[int(site or 0)],
                           tuple(sorted(pairs)))


def entries_of_items(items: Iterable[Mapping[str, Any]]) -> Iterator[ReadingEntry]:
    """Every reading in the given partial items (resource-level values)."""
    for item in items:
        yield from parse_cell(int(item["bucket"]), str(item.get("sites", "")),
                              str(item.get("metrics", "")), str(item.get("readings", "")))


__all__ = ["CellWriter", "ReadingEntry", "entries_of_items", "parse_cell"]
