"""The manifest: exact ground truth of accepted records, stable on disk."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from lambdas.aggregator.records import reading_entry
from lambdas.shared.aggregates import Stats, bucket_start
from lambdas.shared.partials import partial_items_of_cell, totals_from_partials
from lambdas.shared.readings import CellWriter
from lambdas.shared.telemetry import TelemetryV1, new_v1, to_readings
from producers.manifest import MANIFEST_VERSION, Manifest, ManifestError
from tests.unit.test_producer_support import START_MS, fleet_records

MINUTE_MS = 60_000
# START_MS is 20 s into its minute; BUCKET_MS is the start of that minute.
BUCKET_MS = bucket_start(START_MS) * 1000


def reading(
    value: float, *, device: str = "dev-00001", at_ms: int = BUCKET_MS, seq: int = 0,
    metric: str = "temperature_c", site: str = "plant-a",
) -> TelemetryV1:
    return new_v1(device, site, at_ms, seq, {metric: value})


def manifest_of(*records: TelemetryV1) -> Manifest:
    manifest = Manifest()
    manifest.add_all(records)
    return manifest


def test_sums_are_exact_decimals_not_floats() -> None:
    # GIVEN ten readings of 0.1 in one minute (a float sum would be 0.9999999999999999)
    manifest = manifest_of(*(reading(0.1, seq=i, at_ms=BUCKET_MS + i) for i in range(10)))
    # WHEN we read the cell
    stats = manifest.cells[("dev-00001", "temperature_c", bucket_start(BUCKET_MS))]
    # THEN count, sum, min, max and sum of squares are exact
    assert stats == Stats(10, Decimal("1.0"), Decimal("0.1"), Decimal("0.1"), Decimal("0.10"))
    assert str(stats.total) == "1.0"


def test_records_land_in_their_event_time_minute() -> None:
    # GIVEN readings just before and exactly at a minute boundary, out of order
    boundary = BUCKET_MS + MINUTE_MS
    manifest = manifest_of(
        reading(2.5, at_ms=boundary, seq=1), reading(1.5, at_ms=boundary - 1, seq=0)
    )
    # WHEN we list the cells
    # THEN each reading is in its own minute, whatever the arrival order
    assert sorted(bucket for (_, _, bucket) in manifest.cells) == [
        bucket_start(BUCKET_MS), bucket_start(boundary)
    ]
    assert manifest.first_ts_ms == boundary - 1
    assert manifest.last_ts_ms == boundary


def test_counters_track_records_per_device() -> None:
    # GIVEN records of two devices, one with three metrics
    manifest = manifest_of(
        reading(1.0, device="dev-00001"),
        reading(2.0, device="dev-00001", seq=1),
        new_v1("dev-00002", "plant-b", BUCKET_MS, 0, {"a": 1.0, "b": 2.0, "c": 3.0}),
    )
    # WHEN / THEN records (not readings) are counted, per device and in total
    assert manifest.records_accepted == 3
    assert manifest.records_by_device == {"dev-00001": 2, "dev-00002": 1}
    assert len(manifest.cells) == 4


def test_json_round_trip_keeps_every_digit(tmp_path: Path) -> None:
    # GIVEN a manifest of a realistic run
    manifest = manifest_of(*fleet_records(devices=3, rate_hz=2.0, duration_s=150.0))
    manifest.meta = {"seed": 7}
    path = tmp_path / "manifest.json"
    # WHEN it is written and loaded again
    manifest.write(path)
    loaded = Manifest.load(path)
    # THEN it is equal, Decimals included, and the differences list is empty
    assert loaded == manifest
    assert loaded.diff(manifest) == []
    assert loaded.meta == {"seed": 7}


def test_json_layout_uses_strings_for_decimals_and_sorted_cells() -> None:
    # GIVEN a manifest with two cells
    manifest = manifest_of(
        reading(21.4, device="dev-00002", site="plant-b"), reading(3.71, metric="battery_v")
    )
    # WHEN it is serialised
    data = json.loads(manifest.to_json())
    # THEN it is versioned, cells are sorted objects and Decimals are strings
    assert data["version"] == MANIFEST_VERSION
    assert data["cells"] == [
        {
            "device_id": "dev-00001", "site": "plant-a", "metric": "battery_v",
            "bucket": bucket_start(BUCKET_MS), "minute": "2025-11-23T12:13",
            "count": 1, "sum": "3.71", "min": "3.71", "max": "3.71", "sumsq": "13.7641",
        },
        {
            "device_id": "dev-00002", "site": "plant-b", "metric": "temperature_c",
            "bucket": bucket_start(BUCKET_MS), "minute": "2025-11-23T12:13",
            "count": 1, "sum": "21.4", "min": "21.4", "max": "21.4", "sumsq": "457.96",
        },
    ]


def test_totals_compare_directly_with_merged_partials() -> None:
    # GIVEN a run, and partials that split its readings over two shards
    records = fleet_records(devices=2, rate_hz=1.0, duration_s=90.0)
    manifest = manifest_of(*records)
    cells: dict[tuple[str, int, str], CellWriter] = {}
    for index, record in enumerate(records):
        readings = to_readings(record)
        bucket = bucket_start(record.ts)
        shard = f"shardId-{index % 2}"
        writer = cells.setdefault((record.device_id, bucket, shard), CellWriter(bucket))
        writer.append(reading_entry(record, readings))
    items = [item for (device, bucket, shard), writer in cells.items()
             for item in partial_items_of_cell(device, bucket, writer.to_compact(), shard, 0)]
    # WHEN the partials are merged like the query path does
    # THEN the manifest finds no difference, to the last digit
    assert manifest.diff_totals(totals_from_partials(items)) == []


def test_diff_names_missing_unexpected_and_wrong_cells() -> None:
    # GIVEN an expected manifest and actual totals that are off in three ways
    manifest = manifest_of(reading(1.0), reading(2.0, metric="humidity_pct"))
    actual = manifest.totals()
    actual[("dev-00001", "temperature_c", bucket_start(BUCKET_MS))].add(Decimal("0.5"))
    del actual[("dev-00001", "humidity_pct", bucket_start(BUCKET_MS))]
    actual[("dev-00009", "temperature_c", 0)] = Stats.of(Decimal(1))
    # WHEN compared
    problems = manifest.diff_totals(actual)
    # THEN each problem is reported in a readable line
    assert len(problems) == 3
    assert any("humidity_pct" in p and "missing" in p for p in problems)
    assert any("dev-00009" in p and "unexpected" in p for p in problems)
    assert any("expected count=1 sum=1.0" in p and "got count=2 sum=1.5" in p for p in problems)


def test_totals_are_a_copy() -> None:
    # GIVEN a manifest
    manifest = manifest_of(reading(1.0))
    # WHEN a caller mutates the totals it got
    for stats in manifest.totals().values():
        stats.add(Decimal(5))
    # THEN the manifest is unchanged
    assert manifest.diff_totals(manifest_of(reading(1.0)).cells) == []


def test_a_device_changing_site_is_refused() -> None:
    # GIVEN a manifest that saw dev-00001 at plant-a
    manifest = manifest_of(reading(1.0))
    # WHEN the same device reports from plant-b
    # THEN the manifest refuses instead of blurring the cells
    with pytest.raises(ValueError, match="dev-00001 reported site 'plant-b'"):
        manifest.add(reading(1.0, seq=1, site="plant-b"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"version": 99}', "unsupported version 99"),
        ('{"version": 1}', "malformed"),
        (
            '{"version": 1, "records_accepted": 1, "records_by_device": {}, "cells": '
            '[{"device_id": "d", "site": "s", "metric": "m", "bucket": 0, "count": 1, '
            '"sum": 1.5, "min": "1.5", "max": "1.5", "sumsq": "2.25"}]}',
            "expected a decimal string",
        ),
    ],
)
def test_bad_manifest_files_get_a_clear_error(text: str, message: str) -> None:
    # GIVEN / WHEN a broken manifest is loaded
    # THEN it fails with a ManifestError that says why
    with pytest.raises(ManifestError, match=message):
        Manifest.from_json(text)
