"""Ground truth of what Kinesis accepted, to check the pipeline's aggregates against.

The manifest counts a record only once PutRecords has accepted it (the publisher's
``on_accepted`` hook), never when it is generated: a record that was throttled and never
written must not be expected downstream. Statistics are exact ``Decimal`` values: a
record's values are the Decimals its encoding writes on the wire (``telemetry.new_v1``),
read through the same ``telemetry.to_readings`` the consumers use, so a correct pipeline
matches the manifest to the last digit — no tolerances in the tests.

JSON layout (``version`` 1): Decimals are strings, cells are a sorted list of objects
``{device_id, site, metric, bucket, minute, count, sum, min, max, sumsq}`` so the file
diffs cleanly and loads in any language without float rounding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from lambdas.shared.aggregates import Stats, bucket_start, minute_label
from lambdas.shared.telemetry import Telemetry, to_readings

MANIFEST_VERSION = 1

CellKey = tuple[str, str, int]
"""(device_id, metric, bucket start in epoch seconds) — the shape ``aggregates.combine``
returns, so totals read from DynamoDB compare directly."""


class ManifestError(ValueError):
    """A manifest file that cannot be read: wrong version, malformed, inconsistent."""


@dataclass
class Manifest:
    """Exact per-cell statistics and counters of the user records Kinesis accepted."""

    cells: dict[CellKey, Stats] = field(default_factory=dict)
    sites: dict[str, str] = field(default_factory=dict)
    records_accepted: int = 0
    records_by_device: dict[str, int] = field(default_factory=dict)
    first_ts_ms: int | None = None
    last_ts_ms: int | None = None
    # Provenance (seed, stream, fleet size): written to the file, ignored by equality.
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def add(self, record: Telemetry) -> None:
        """Count one accepted user record."""
        known_site = self.sites.setdefault(record.device_id, record.site)
        if known_site != record.site:
            # Aggregates are keyed by site too; a device that moves would make the
            # manifest's per-device cells ambiguous, so refuse loudly.
            raise ValueError(
                f"device {record.device_id} reported site {record.site!r} "
                f"after {known_site!r}"
            )
        self.records_accepted += 1
        self.records_by_device[record.device_id] = (
            self.records_by_device.get(record.device_id, 0) + 1
        )
        self.first_ts_ms = record.ts if self.first_ts_ms is None else min(
            self.first_ts_ms, record.ts
        )
        self.last_ts_ms = record.ts if self.last_ts_ms is None else max(
            self.last_ts_ms, record.ts
        )
        for reading in to_readings(record):
            key = (reading.device_id, reading.metric, bucket_start(reading.ts_ms))
            stats = self.cells.get(key)
            if stats is None:
                self.cells[key] = Stats.of(reading.value)
            else:
                stats.add(reading.value)

    def add_all(self, records: Iterable[Telemetry]) -> None:
        for record in records:
            self.add(record)

    def totals(self) -> dict[CellKey, Stats]:
        """A copy of the cells, safe to mutate, shaped like ``aggregates.combine``."""
        return {key: Stats.from_compact(stats.to_compact()) for key, stats in self.cells.items()}

    # -- comparison ------------------------------------------------------------------

    def diff(self, other: Manifest, *, limit: int = 20) -> list[str]:
        """Human-readable differences (at most ``limit``); empty when equal."""
        problems: list[str] = []
        for name in ("records_accepted", "first_ts_ms", "last_ts_ms"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                problems.append(f"{name}: {mine} != {theirs}")
        for device in sorted(set(self.records_by_device) | set(other.records_by_device)):
            mine_n = self.records_by_device.get(device, 0)
            theirs_n = other.records_by_device.get(device, 0)
            if mine_n != theirs_n:
                problems.append(f"records of {device}: {mine_n} != {theirs_n}")
        problems.extend(self.diff_totals(other.cells, limit=limit))
        return problems[:limit]

    def diff_totals(self, actual: Mapping[CellKey, Stats], *, limit: int = 20) -> list[str]:
        """Differences between the expected cells and ``actual`` totals (e.g. the result of
        ``aggregates.combine`` over the partial items in DynamoDB); empty when exact."""
        problems: list[str] = []
        for key in sorted(set(self.cells) | set(actual)):
            expected, got = self.cells.get(key), actual.get(key)
            if expected is None:
                problems.append(f"{_label(key)}: unexpected cell {_describe(got)}")
            elif got is None:
                problems.append(f"{_label(key)}: missing, expected {_describe(expected)}")
            elif expected != got:
                problems.append(
                    f"{_label(key)}: expected {_describe(expected)}, got {_describe(got)}"
                )
            if len(problems) >= limit:
                break
        return problems

    # -- serialisation ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (Decimals as strings, cells sorted)."""
        return {
            "version": MANIFEST_VERSION,
            "meta": self.meta,
            "records_accepted": self.records_accepted,
            "records_by_device": dict(sorted(self.records_by_device.items())),
            "first_ts_ms": self.first_ts_ms,
            "last_ts_ms": self.last_ts_ms,
            "cells": [self._cell_to_dict(key, self.cells[key]) for key in sorted(self.cells)],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def write(self, path: str | Path) -> None:
        """Write the manifest as JSON (one cell per line, so diffs stay readable)."""
        Path(path).write_text(self.to_json(indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        if not isinstance(data, Mapping):
            raise ManifestError("manifest: expected a JSON object")
        version = data.get("version")
        if version != MANIFEST_VERSION:
            raise ManifestError(
                f"manifest: unsupported version {version!r} (expected {MANIFEST_VERSION})"
            )
        try:
            manifest = cls(
                records_accepted=int(data["records_accepted"]),
                records_by_device={str(k): int(v) for k, v in data["records_by_device"].items()},
                first_ts_ms=_optional_int(data.get("first_ts_ms")),
                last_ts_ms=_optional_int(data.get("last_ts_ms")),
                meta=dict(data.get("meta") or {}),
            )
            for cell in data["cells"]:
                manifest._load_cell(cell)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ManifestError(f"manifest: malformed ({type(exc).__name__}: {exc})") from None
        return manifest

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"manifest: not JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def _cell_to_dict(self, key: CellKey, stats: Stats) -> dict[str, Any]:
        device_id, metric, bucket = key
        return {
            "device_id": device_id,
            "site": self.sites[device_id],
            "metric": metric,
            "bucket": bucket,
            "minute": minute_label(bucket),
            "count": stats.count,
            "sum": str(stats.total),
            "min": str(stats.minimum),
            "max": str(stats.maximum),
            "sumsq": str(stats.sum_squares),
        }

    def _load_cell(self, cell: Mapping[str, Any]) -> None:
        key = (str(cell["device_id"]), str(cell["metric"]), int(cell["bucket"]))
        if key in self.cells:
            raise ValueError(f"duplicate cell {_label(key)}")
        self.sites[key[0]] = str(cell["site"])
        self.cells[key] = Stats(
            int(cell["count"]),
            _decimal(cell["sum"]),
            _decimal(cell["min"]),
            _decimal(cell["max"]),
            _decimal(cell["sumsq"]),
        )


def _decimal(value: Any) -> Decimal:
    # Strings only: a JSON float would already have lost the exactness this file keeps.
    if not isinstance(value, str):
        raise TypeError(f"expected a decimal string, got {value!r}")
    return Decimal(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _label(key: CellKey) -> str:
    device_id, metric, bucket = key
    return f"{device_id}/{metric}@{minute_label(bucket)}"


def _describe(stats: Stats | None) -> str:
    if stats is None:
        return "nothing"
    return (
        f"count={stats.count} sum={stats.total} min={stats.minimum} "
        f"max={stats.maximum} sumsq={stats.sum_squares}"
    )


__all__ = ["MANIFEST_VERSION", "CellKey", "Manifest", "ManifestError"]
