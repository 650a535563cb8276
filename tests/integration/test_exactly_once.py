"""Exactly once per reading, on the embedded stack: a reading (device_id, boot, seq) counts
once however many Kinesis records, windows, replays and re-drives carry it; a conflicting
version is kept or quarantined deterministically; a device that changes site keeps each
reading's site; a window cut into pieces is replayed into the same partials.

Every test ends with the minute totals analysts query (and the partials under them) equal
to a manifest of the *unique* readings, and ``produced = aggregated + quarantined +
duplicates dropped + in failure destination``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

from lambdas.shared.aggregates import bucket_start
from lambdas.shared.telemetry import TelemetryV1, new_v1
from shardline.cli import main
from shardline.local.stack import LocalStack, project_root
from shardline.quarantine import QuarantineReader
from shardline.query import AggregateReader
from tests.integration.accounting import (
    account,
    as_entries,
    assert_exact,
    fleet_records,
    hours_back_s,
    manifest_of,
    partials_in,
    publish,
    total_items_in,
)
from tests.integration.stack_ops import recreate_aggregator_mapping, update_aggregator
from tests.support.deploy import WrappedFunction
from tests.support.poison_aggregator import POISON_DEVICES_VARIABLE

IDLE_TIMEOUT_S = 240
DUPLICATE_EVERY = 20  # 5 % of the readings are sent twice


def _variant(record: TelemetryV1, *, ts: int | None = None, site: str | None = None,
             scale: str = "1") -> TelemetryV1:
    """The same reading identity with other content."""
    metrics = {name: Decimal(value) * Decimal(scale) for name, value in record.metrics.items()}
    return new_v1(record.device_id, record.site if site is None else site,
                  record.ts if ts is None else ts, record.seq, metrics)


def test_duplicates_in_other_records_and_windows_count_once(stack: LocalStack) -> None:
    # GIVEN a fleet's readings, 5 % of which the producer sends twice: half of the copies
    # right behind the originals (other Kinesis records, same window), half once the
    # originals' windows have closed and their totals were written (other windows)
    started = time.time() - 1
    records = fleet_records(hours_back=18, seed=131)
    copies = records[::DUPLICATE_EVERY]
    publish(stack, as_entries([*records, *copies[::2]]))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # WHEN the rest of the copies arrive
    publish(stack, as_entries(copies[1::2]))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN the aggregates equal the manifest of unique readings, exactly
    expected = manifest_of(records)
    assert_exact(stack, expected)
    # AND every copy sent is accounted for: aggregated once, the copies as duplicates
    accounting = account(stack, expected, since_s=started)
    assert (accounting.aggregated, accounting.duplicates) == (len(records), len(copies))
    assert accounting.total == len(records) + len(copies)
    assert accounting.quarantined == accounting.failed == 0


def test_conflicting_versions_keep_one_and_quarantine_the_other(stack: LocalStack) -> None:
    # GIVEN readings re-sent with other content within their minute: one version a
    # millisecond earlier (it wins, though it arrives later), one a millisecond later
    started = time.time() - 1
    records = [r for r in fleet_records(hours_back=19, seed=141)
               if 0 < r.ts % 60_000 < 59_999]
    earlier = [_variant(r, ts=r.ts - 1, scale="2") for r in records[5:8]]
    later = [_variant(r, ts=r.ts + 1, scale="3") for r in records[20:22]]
    publish(stack, as_entries(records))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # WHEN the other versions arrive
    publish(stack, as_entries([*earlier, *later]))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN the aggregates hold the earliest version of each reading and never both
    kept = {(r.device_id, r.seq): r for r in records} | {(r.device_id, r.seq): r
                                                        for r in earlier}
    expected = manifest_of(kept.values())
    assert_exact(stack, expected)
    # AND each losing version is in the quarantine table, as a conflict
    reader = QuarantineReader(str(stack.outputs["quarantine_table_name"]),
                              stack.client("dynamodb"))
    conflicts = [q for q in reader.records(since_s=started) if q.reason.startswith("conflict")
                 and q.partition_key in {r.device_id for r in records}]
    assert len(conflicts) == len(earlier) + len(later)
    # AND produced = aggregated + quarantined
    accounting = account(stack, expected, since_s=started)
    assert accounting.quarantined == len(conflicts)
    assert accounting.total == len(records) + len(earlier) + len(later)


def test_a_device_changing_site_within_a_minute_keeps_each_readings_site(
        stack: LocalStack) -> None:
    # GIVEN a device that moves from plant-a to plant-b half-way through a minute
    minute_ms = hours_back_s(20) * 1000
    readings = [new_v1("dev-mover", "plant-a" if i < 3 else "plant-b", minute_ms + i * 10_000,
                       i, {"temperature_c": float(i + 1)}) for i in range(6)]

    # WHEN its readings are aggregated
    publish(stack, as_entries(readings))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN the minute's total is the whole minute, with each site's own share beside it
    (total,) = [t for t in total_items_in(stack, {minute_ms // 1000})
                if t["device_id"] == "dev-mover"]
    assert (total["count"], total["sum"]) == (6, Decimal("21"))
    assert {site: (share["count"], share["sum"]) for site, share in total["sites"].items()} \
        == {"plant-a": (3, Decimal("6")), "plant-b": (3, Decimal("15"))}
    # AND once the scheduled rollup has run, each site's roll-up holds its own readings
    response = stack.client("lambda").invoke(
        FunctionName=str(stack.outputs["scheduled_rollup_function_name"]), Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    reader = AggregateReader(str(stack.outputs["aggregates_table_name"]),
                             stack.client("dynamodb"))
    minute_s = minute_ms // 1000
    shares = {site: [(row.stats.count, row.stats.total, row.devices) for row in reader.rollups(
        "site", "temperature_c", resolution_s=300, since_s=minute_s, until_s=minute_s, site=site)]
        for site in ("plant-a", "plant-b")}
    assert shares == {"plant-a": [(3, Decimal("6"), 1)], "plant-b": [(3, Decimal("15"), 1)]}


def _aggregator_batch_size(stack: LocalStack) -> int:
    (mapping,) = stack.client("lambda").list_event_source_mappings(
        EventSourceArn=str(stack.outputs["stream_arn"]))["EventSourceMappings"]
    return int(mapping["BatchSize"])


@pytest.fixture
def sealed_aggregator(stack: LocalStack) -> Iterator[None]:
    """The aggregator sealing its window pieces at 4 KB (its setting, WINDOW_SEAL_BYTES)."""
    name = str(stack.outputs["aggregator_function_name"])
    variables = stack.client("lambda").get_function_configuration(
        FunctionName=name)["Environment"]["Variables"]
    restore = update_aggregator(stack, Environment={
        "Variables": {**variables, "WINDOW_SEAL_BYTES": "4000"}})
    yield
    update_aggregator(stack, **restore)


def test_a_window_cut_into_pieces_is_replayed_into_the_same_partials(
        stack: LocalStack, sealed_aggregator: None) -> None:
    # GIVEN windows whose readings outgrow the seal size, aggregated in pieces
    started = time.time() - 1
    records = fleet_records(hours_back=21, seed=161)
    publish(stack, as_entries(records))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
    buckets = {bucket_start(r.ts) for r in records}
    before = {(p["PK"], p["SK"]): p for p in partials_in(stack, buckets)}
    assert sum(1 for p in before.values() if p.get("segment")) > 3

    # WHEN the mapping is recreated from before them with a batch size that splits the
    # stream at other records (what a re-drive by an operator does)
    batch_size = _aggregator_batch_size(stack)
    uuid = recreate_aggregator_mapping(stack, started, BatchSize=7)
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
    stack.client("lambda").update_event_source_mapping(UUID=uuid, BatchSize=batch_size)

    # THEN the replay cut the windows at the same records: the same partials, no stale one
    after = {(p["PK"], p["SK"]): p for p in partials_in(stack, buckets)}
    assert after == before
    # AND every reading counts once, with no copy even to drop
    expected = manifest_of(records)
    assert_exact(stack, expected)
    accounting = account(stack, expected, since_s=started)
    assert (accounting.aggregated, accounting.duplicates) == (len(records), 0)


@pytest.fixture
def aggregator_drill(stack: LocalStack) -> Iterator[WrappedFunction]:
    drill = WrappedFunction(stack.client("lambda"), str(stack.outputs["aggregator_function_name"]),
                            "aggregator", "tests.support.poison_aggregator", project_root())
    yield drill
    drill.restore()


def _cli(stack: LocalStack, *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--endpoint", stack.endpoint_url])
    assert result.exit_code == 0, result.output
    return result


def test_re_reading_a_window_that_dlq_replay_redrove_does_not_double_count(
        stack: LocalStack, aggregator_drill: WrappedFunction) -> None:
    # GIVEN a batch that failed (a bug crashed on one device) and was re-driven by
    # `shardline dlq replay` once the bug was fixed
    started = time.time() - 1
    records = fleet_records(hours_back=22, seed=171, devices=4, duration_s=90)
    poison = new_v1("dev-poison-17", "plant-a", records[10].ts, 1, {"temperature_c": 5.0})
    aggregator_drill.deploy({POISON_DEVICES_VARIABLE: poison.device_id})
    publish(stack, as_entries([*records[:20], poison, *records[20:]]))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
    aggregator_drill.restore()
    _cli(stack, "dlq", "replay", "--yes")
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
    expected = manifest_of([*records, poison])
    buckets = {bucket_start(r.ts) for r in [*records, poison]}
    replayed = [p for p in partials_in(stack, buckets)
                if str(p.get("segment", "")).startswith("replay-")]
    assert replayed, "the failed batch was re-driven under a replay segment"
    assert_exact(stack, expected)

    # WHEN an operator also recreates the mapping from before those records, so the
    # re-driven records are read and aggregated again in their own windows
    recreate_aggregator_mapping(stack, started)
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN every reading still counts once, and nothing is left in the failure queue
    assert_exact(stack, expected)
    accounting = account(stack, expected, since_s=started)
    assert accounting.aggregated == len(records) + 1 and accounting.failed == 0


def test_a_device_that_reboots_within_a_minute_loses_no_reading(stack: LocalStack) -> None:
    # GIVEN a device that reboots twice within a minute and restarts its seq at 0 each
    # time, telling its boots apart with the contract's boot field; and a device without
    # a boot field that restarts its seq in the same minute
    started = time.time() - 1
    minute_ms = hours_back_s(23) * 1000
    booted = [new_v1("dev-reboot", "plant-a", minute_ms + boot * 15_000 + seq * 1_000, seq,
                     {"temperature_c": boot * 10 + seq}, boot=boot)
              for boot in range(3) for seq in range(5)]
    bootless = [new_v1("dev-bootless", "plant-a", minute_ms + i * 1_000, i % 3,
                       {"temperature_c": i}) for i in range(6)]

    # WHEN their readings are aggregated (each twice: a producer retry)
    publish(stack, as_entries([*booted, *bootless, *booted]))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN every reading of the rebooting device counts, once
    kept_bootless = bootless[:3]  # seq 0-2 again at later times: the earlier ones win
    expected = manifest_of([*booted, *kept_bootless])
    assert_exact(stack, expected)
    # AND the bootless device's reused seqs are conflicts, quarantined rather than lost
    accounting = account(stack, expected, since_s=started)
    assert accounting.aggregated == len(booted) + len(kept_bootless)
    assert accounting.quarantined == len(bootless) - len(kept_bootless)
    assert accounting.duplicates == len(booted)
    assert accounting.total == 2 * len(booted) + len(bootless)
