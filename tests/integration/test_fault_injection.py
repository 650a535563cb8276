"""Exactly-once aggregates under failure, on the embedded stack (real Terraform, the ESM
engine, the deployed Lambda code).

Each test injects one kind of failure the platform must absorb — duplicate delivery, late
and out-of-order data, DynamoDB throttling, a handler timeout mid-batch, a crash after some
partials were written — and ends the same way: the minute totals analysts query and the
partials under them equal the producer's ground truth exactly, and
``produced = aggregated + quarantined + in failure destination`` holds.

DynamoDB faults are injected inside the embedded AWS (``EmbeddedAws.faults``), so the
aggregator's and the rollup's own clients see exactly what DynamoDB would answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lambdas.shared.aggregates import bucket_start
from lambdas.shared.telemetry import TelemetryV1
from shardline.local.fault_layer import DynamoDBFault, FaultLayer
from shardline.local.stack import LocalStack
from tests.factories.telemetry import INVALID_RECORDS
from tests.integration.accounting import (
    account,
    aggregator_invocations,
    as_entries,
    assert_exact,
    fleet_records,
    log_position,
    manifest_of,
    partials_in,
    publish,
)
from tests.integration.stack_ops import (
    paused_mappings,
    recreate_aggregator_mapping,
    update_aggregator,
)

IDLE_TIMEOUT_S = 240


@pytest.fixture
def faults(stack: LocalStack) -> Iterator[FaultLayer]:
    assert stack.aws.faults is not None
    yield stack.aws.faults
    stack.aws.faults.clear()


def _aggregates_table(stack: LocalStack) -> str:
    return str(stack.outputs["aggregates_table_name"])


def test_records_delivered_twice_are_counted_once(stack: LocalStack) -> None:
    # GIVEN a fleet's records aggregated once
    started = time.time() - 1
    records = fleet_records(hours_back=6, seed=61)
    publish(stack, as_entries(records))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
    expected = manifest_of(records)
    assert_exact(stack, expected)
    buckets = {bucket_start(r.ts) for r in records}
    partial_keys = {(p["PK"], p["SK"]) for p in partials_in(stack, buckets)}

    # WHEN the mapping is recreated from a timestamp before them, so every one of those
    # records is delivered to the aggregator a second time (in batches split differently)
    mark = log_position(stack)
    new_uuid = recreate_aggregator_mapping(stack, started)
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN the second delivery happened in full...
    redelivered = [inv for inv in aggregator_invocations(stack, since_index=mark)
                   if inv.mapping_uuid == new_uuid]
    assert all(inv.outcome == "ok" for inv in redelivered)
    assert sum(inv.batch_size for inv in redelivered) == len(records)
    # ...and rewrote the same partials (same shard and arrival window), so nothing doubled
    assert {(p["PK"], p["SK"]) for p in partials_in(stack, buckets)} == partial_keys
    assert_exact(stack, expected)
    accounting = account(stack, expected, since_s=started)
    assert accounting.total == len(records) == accounting.aggregated


def test_late_and_out_of_order_minutes_land_in_their_event_time_buckets(
        stack: LocalStack) -> None:
    # GIVEN a fleet in which two devices were offline and upload their backlog late, newest
    # minute first, and one on-time device's reading of its first minute arrives last
    started = time.time()
    records = fleet_records(hours_back=7, seed=71)
    offline = {"dev-00001", "dev-00002"}
    straggler = next(r for r in records if r.device_id == "dev-00003")
    on_time = [r for r in records if r.device_id not in offline and r is not straggler]
    backlog = sorted((r for r in records if r.device_id in offline),
                     key=lambda r: (-bucket_start(r.ts), r.ts))

    # WHEN the on-time records are aggregated (their minutes get totals), then the backlog
    # and the straggler arrive in later arrival windows
    publish(stack, as_entries(on_time))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
    publish(stack, as_entries(backlog))
    publish(stack, as_entries([straggler]))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN every record counts in the minute of its event time, exactly once
    expected = manifest_of(records)
    assert_exact(stack, expected)
    # AND the straggler's minute was recomputed from two partials (two arrival windows)
    minute = bucket_start(straggler.ts)
    pieces = [p for p in partials_in(stack, {minute})
              if p["device_id"] == straggler.device_id]
    assert len({p["window_start"] for p in pieces}) >= 2
    accounting = account(stack, expected, since_s=started)
    assert accounting.total == len(records) == accounting.aggregated


def test_dynamodb_throttling_and_unprocessed_items_lose_nothing(
        stack: LocalStack, faults: FaultLayer) -> None:
    # GIVEN a table that throttles and leaves items unprocessed, for a while, for the
    # aggregator's partials and the rollup's totals alike
    started = time.time()
    table = _aggregates_table(stack)
    # (Rules are tried in order: a call the throttle rule lets through may lose items. The
    # throttle rule throttles the 2nd to 5th calls, so it surely fires: at a rate of 0.3 a
    # run's dozen or so calls all passed it once, 0.7^14 = 0.7 % of the time.)
    throttled = faults.inject(DynamoDBFault("throttle", table=table, rate=1.0, after=1,
                                            times=4))
    unprocessed = faults.inject(DynamoDBFault("unprocessed", table=table, rate=0.3, times=60))
    records = fleet_records(hours_back=8, seed=81)

    # WHEN a fleet is aggregated through it
    publish(stack, as_entries(records))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
    faults.clear()
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN both kinds of fault really happened, and the aggregates are still exact
    assert unprocessed.injected > 0 and throttled.injected > 0
    expected = manifest_of(records)
    assert_exact(stack, expected)
    accounting = account(stack, expected, since_s=started)
    assert accounting.total == len(records) == accounting.aggregated


@pytest.fixture
def dispatcher_paused(stack: LocalStack) -> Iterator[None]:
    """The fanout dispatcher quarantines the same invalid records into the same table: it
    sits a drill out whose one-time stall of that table is meant for the aggregator."""
    with paused_mappings(stack, "dispatcher_function_arn"):
        yield


@pytest.mark.usefixtures("dispatcher_paused")
def test_a_handler_timeout_mid_batch_is_retried_without_double_counting(
        stack: LocalStack, faults: FaultLayer) -> None:
    # GIVEN an aggregator with a 2 s timeout, a quarantine table that once stalls for 4 s
    # while a batch is half processed, and a partials write that once stalls for 4 s
    started = time.time()
    restore = update_aggregator(stack, Timeout=2)
    stall_batch = faults.inject(DynamoDBFault(
        "delay", table=str(stack.outputs["quarantine_table_name"]), delay_s=4, times=1))
    stall_window = faults.inject(DynamoDBFault(
        "delay", table=_aggregates_table(stack), sort_key_prefix="P#", delay_s=4, times=1))
    records = fleet_records(hours_back=9, seed=91)
    invalid = [(f"timeout-bad-{i}", data, None)
               for i, data in enumerate(list(INVALID_RECORDS.values()) * 2)]
    mark = log_position(stack)

    # WHEN the fleet and some invalid records are aggregated
    try:
        half = len(records) // 2
        publish(stack, [*as_entries(records[:half]), *invalid, *as_entries(records[half:])])
        stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
    finally:
        update_aggregator(stack, **restore)
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN invocations timed out (a records batch and a window's final invoke) and were retried
    assert stall_batch.injected == 1 and stall_window.injected == 1
    timeouts = [inv for inv in aggregator_invocations(stack, since_index=mark)
                if inv.error_type == "Sandbox.Timedout"]
    assert len(timeouts) >= 2
    assert any(inv.final_for_window for inv in timeouts)
    assert any(inv.batch_size > 0 for inv in timeouts)
    # AND every record is counted once: aggregated or quarantined, none lost, none doubled
    expected = manifest_of(records)
    assert_exact(stack, expected)
    accounting = account(stack, expected, since_s=started,
                         quarantine_key_prefix="timeout-bad-")
    assert accounting.quarantined == len(invalid)
    assert accounting.total == len(records) + len(invalid)
    assert accounting.failed == 0


def test_a_crash_after_writing_some_partials_rewrites_them_on_retry(
        stack: LocalStack, faults: FaultLayer) -> None:
    # GIVEN a table whose second partials write is applied and then fails (the handler
    # crashes with some partials of its window already written)
    started = time.time()
    crash = faults.inject(DynamoDBFault(
        "error", table=_aggregates_table(stack), sort_key_prefix="P#", after=1, times=1))
    records: list[TelemetryV1] = fleet_records(hours_back=10, seed=101, devices=12)
    mark = log_position(stack)

    # WHEN a fleet large enough for several partials writes per window is aggregated
    publish(stack, as_entries(records))
    stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)

    # THEN a window's final invoke failed after its first writes, was retried, and the
    # rewritten partials (same keys) leave the aggregates exact
    assert crash.injected == 1
    failed_finals = [inv for inv in aggregator_invocations(stack, since_index=mark)
                     if inv.final_for_window and inv.outcome == "error"]
    assert failed_finals
    expected = manifest_of(records)
    assert_exact(stack, expected)
    accounting = account(stack, expected, since_s=started)
    assert accounting.total == len(records) == accounting.aggregated
