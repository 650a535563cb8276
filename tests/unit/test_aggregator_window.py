"""Aggregator window model without AWS: the tumbling-window envelope, the window state,
buckets and partial items, and reading records (validation, quarantine, KPL)."""

from __future__ import annotations

import base64
import json
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdas.aggregator.envelope import InvalidWindowEvent, WindowInvocation, parse_aws_timestamp
from lambdas.aggregator.records import read_record
from lambdas.aggregator.window_state import (
    WindowAggregate,
    cell_key,
    split_cell_key,
    state_size_bytes,
)
from lambdas.shared.aggregates import Stats
from lambdas.shared.kpl import UserRecord, split_user_records
from lambdas.shared.partials import totals_from_partials
from lambdas.shared.readings import CellWriter, entries_of_items
from tests.factories.kinesis import (
    KinesisShard,
    kpl_aggregate,
    tumbling_window_event,
)
from tests.factories.telemetry import (
    BASE_TS_MS,
    INVALID_RECORDS,
    device_series,
    expected_stats,
    fleet_records,
    malformed_json,
    telemetry_bytes,
    telemetry_record,
    unknown_version,
    window_aggregate,
)

SHARD = "shardId-000000000007"
WINDOW_START = BASE_TS_MS // 1000


def aggregate_of(records, first_sequence=1_000) -> WindowAggregate:
    return window_aggregate(records, first_sequence)


def totals(aggregate: WindowAggregate) -> dict[tuple[str, str, int], Stats]:
    return totals_from_partials(aggregate.partial_items(SHARD, WINDOW_START))


def cell_buckets(aggregate: WindowAggregate) -> set[int]:
    return {split_cell_key(key)[1] for key in aggregate.to_state()["cells"]}



# Window events ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "epoch_s"),
    [
        ("2020-07-30T17:00:00Z", 1_596_128_400),
        ("2020-07-30T17:00:00.000Z", 1_596_128_400),
        ("2020-07-30T17:00:00.999Z", 1_596_128_400),
        ("2020-07-30T19:00:00+02:00", 1_596_128_400),
        ("2020-07-30T17:00:00", 1_596_128_400),
    ],
)
def test_window_timestamps_parse_to_epoch_seconds(text, epoch_s):
    # GIVEN a window bound as Lambda writes it (or a variant)
    # WHEN / THEN it parses to whole epoch seconds, UTC
    assert parse_aws_timestamp(text) == epoch_s


def test_unparseable_window_timestamp_is_a_window_event_error():
    # GIVEN a garbled bound / WHEN parsed / THEN the error names the bound
    with pytest.raises(InvalidWindowEvent, match="yesterday"):
        parse_aws_timestamp("yesterday")


def test_window_invocation_reads_the_tumbling_window_envelope():
    # GIVEN a final tumbling-window event of shard 7
    shard = KinesisShard(shard_id=SHARD)
    event = tumbling_window_event(
        shard.records([telemetry_record()]), window_start_s=1_596_128_400, window_seconds=120,
        state={"v": 1, "cells": {}}, is_final=True,
    )

    # WHEN it is parsed
    invocation = WindowInvocation.from_event(event)

    # THEN shard, bounds, state and flags are those of the event
    assert invocation.shard_id == SHARD
    assert (invocation.window_start_s, invocation.window_end_s) == (1_596_128_400, 1_596_128_520)
    assert invocation.state == {"v": 1, "cells": {}}
    assert invocation.is_final and not invocation.terminated_early and invocation.closes_window
    assert invocation.event_source_arn == event["eventSourceARN"]


def test_window_invocation_without_shard_id_uses_the_event_id():
    # GIVEN an event whose shardId is missing
    event = tumbling_window_event(KinesisShard(shard_id=SHARD).records([telemetry_record()]))
    del event["shardId"]

    # WHEN / THEN the shard comes from the records' eventID
    assert WindowInvocation.from_event(event).shard_id == SHARD


def test_event_without_window_is_rejected_as_misconfiguration():
    # GIVEN a plain Kinesis event (no tumbling window configured)
    event = {"Records": KinesisShard().records([telemetry_record()])}

    # WHEN / THEN parsing says what to configure
    with pytest.raises(InvalidWindowEvent, match="TumblingWindowInSeconds"):
        WindowInvocation.from_event(event)


def test_early_termination_closes_the_window_piece():
    # GIVEN an event flagged terminated early but not final
    event = tumbling_window_event([], terminated_early=True)

    # WHEN / THEN the invocation closes the current piece of the window
    assert WindowInvocation.from_event(event).closes_window


# State -----------------------------------------------------------------------------------


def test_state_round_trips_through_json():
    # GIVEN an aggregate with cells, a quarantined record and sequence numbers
    aggregate = aggregate_of(fleet_records(devices=3, per_device=20))
    aggregate.commit(read_record("9999", malformed_json()))

    # WHEN its state goes through JSON (as Lambda carries it) and back
    state = aggregate.to_state()
    restored = WindowAggregate.from_state(json.loads(json.dumps(state)))

    # THEN the restored aggregate holds the same cells, counts and watermark
    assert restored.to_state() == state
    assert restored.aggregated == 60 and restored.quarantined == 1
    assert (restored.first_sequence, restored.last_sequence) == ("1000", "9999")
    assert totals(restored) == totals(aggregate)


def test_empty_state_is_an_empty_aggregate_and_saves_as_empty():
    # GIVEN the state of a window's first invocation / WHEN loaded and saved
    # THEN nothing is invented
    for state in ({}, None):
        aggregate = WindowAggregate.from_state(state)
        assert aggregate.cell_count == 0
        assert aggregate.to_state() == {}


def test_state_of_an_unknown_version_is_refused():
    # GIVEN a state written by another format version / WHEN loaded / THEN refused
    with pytest.raises(ValueError, match="version"):
        WindowAggregate.from_state({"v": 99, "cells": {}})


def test_state_format_is_compact():
    # GIVEN half a minute of 1 Hz readings of 100 devices with three metrics each
    records = fleet_records(devices=100, per_device=30)
    aggregate = aggregate_of(records)

    # WHEN the state is serialised as the Lambda runtime does
    state = aggregate.to_state()
    size = state_size_bytes(state)

    # THEN one cell per device-minute, about 20 bytes per reading of three metrics
    assert aggregate.cell_count == 100
    assert size / len(records) < 30
    key, compact = next(iter(state["cells"].items()))
    assert key.count("|") == 1 and len(compact) == 4 and compact[3] == 30


def test_untouched_cells_are_carried_without_reparsing():
    # GIVEN a state with a cell of device A
    state = aggregate_of(device_series("dev-a", 5)).to_state()

    # WHEN the next invocation folds a reading of device B only
    aggregate = WindowAggregate.from_state(state)
    aggregate.commit(read_record("5000", telemetry_bytes(telemetry_record("dev-b"))))
    saved = aggregate.to_state()

    # THEN A's cell is the very object it was and B's is added
    for key, compact in state["cells"].items():
        assert saved["cells"][key] is compact
    assert aggregate.cell_count == len(state["cells"]) + 1


# Folding ---------------------------------------------------------------------------------


def test_readings_are_bucketed_by_event_time_minute():
    # GIVEN readings of one device either side of a minute boundary, arriving together
    records = device_series("dev-1", 4, start_ms=BASE_TS_MS + 58_000, interval_ms=1_000)

    # WHEN they are folded
    aggregate = aggregate_of(records)

    # THEN they land in the minute of their event time, not of their arrival
    assert cell_buckets(aggregate) == {WINDOW_START, WINDOW_START + 60}
    assert totals(aggregate) == expected_stats(records)


def test_out_of_order_records_give_the_same_aggregate():
    # GIVEN a fleet's records in event-time order and shuffled
    records = fleet_records(devices=4, per_device=30, interval_ms=7_000)
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)

    # WHEN each order is folded
    in_order, out_of_order = aggregate_of(records), aggregate_of(shuffled)

    # THEN the statistics are identical and exact
    assert totals(out_of_order) == totals(in_order) == expected_stats(records)


def test_commit_is_all_or_nothing(monkeypatch):
    # GIVEN an aggregate with some readings
    aggregate = aggregate_of(device_series("dev-1", 3))
    before = aggregate.to_state()

    # AND a KPL record of three user records (two devices) whose third append breaks
    records = [telemetry_record("dev-1", ts=BASE_TS_MS + 3_000, seq=3),
               telemetry_record("dev-2", site="plant-b", metrics={"new_metric": 1.0}),
               telemetry_record("dev-3")]
    contribution = read_record("7777", kpl_aggregate(
        [(r.device_id, telemetry_bytes(r)) for r in records]))
    calls = []
    original_append = CellWriter.append

    def flaky_append(self, entry):
        calls.append(entry)
        if len(calls) == 3:
            raise RuntimeError("boom")
        original_append(self, entry)

    monkeypatch.setattr(CellWriter, "append", flaky_append)

    # WHEN the record is committed
    with pytest.raises(RuntimeError):
        aggregate.commit(contribution)

    # THEN none of its readings (and not its sequence number) reached the state
    assert aggregate.to_state() == before
    # AND committing it once the fault is gone gives exactly the readings of all records
    monkeypatch.setattr(CellWriter, "append", original_append)
    aggregate.commit(contribution)
    assert totals(aggregate) == expected_stats([*device_series("dev-1", 3), *records])


def test_partial_items_equal_the_ground_truth():
    # GIVEN a fleet folded in one window
    records = fleet_records(devices=5, per_device=90)
    aggregate = aggregate_of(records)

    # WHEN the window is flushed
    items = aggregate.partial_items(SHARD, WINDOW_START)

    # THEN there is one item per device x minute, exactly the ground truth
    assert len(items) == len({(r.device_id, r.ts // 60_000) for r in records})
    assert len({(item["PK"], item["SK"]) for item in items}) == len(items)
    assert totals_from_partials(items) == expected_stats(records)
    assert all(item["shard_id"] == SHARD and item["window_start"] == WINDOW_START for item in items)


def test_a_device_reporting_two_sites_in_one_minute_keeps_each_readings_site():
    # GIVEN one device whose site changes within a minute
    records = [
        telemetry_record("dev-1", site="plant-b", ts=BASE_TS_MS, seq=1, metrics={"t": 1.5}),
        telemetry_record("dev-1", site="plant-a", ts=BASE_TS_MS + 1, seq=2, metrics={"t": 2.5}),
    ]

    # WHEN the window is flushed
    items = aggregate_of(records).partial_items(SHARD, WINDOW_START)

    # THEN one item holds both readings, each with its own site
    assert len(items) == 1 and items[0]["count"] == 2
    assert items[0]["sites"] == "plant-b,plant-a"
    entries = list(entries_of_items(items))
    assert [(entry.site, entry.values) for entry in entries] == [
        ("plant-b", (("t", Decimal("1.5")),)), ("plant-a", (("t", Decimal("2.5")),))]


def test_segment_is_added_to_every_item_key():
    # GIVEN an aggregate / WHEN flushed as a window piece
    items = aggregate_of(device_series("dev-1", 2)).partial_items(SHARD, WINDOW_START,
                                                                   segment="1000")

    # THEN every key carries the segment
    assert all(item["SK"].endswith("#1000") and item["segment"] == "1000" for item in items)


# Reading records -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(INVALID_RECORDS))
def test_invalid_user_records_are_quarantined_with_a_reason(name):
    # GIVEN an invalid user record
    data = INVALID_RECORDS[name]

    # WHEN its Kinesis record is read
    contribution = read_record("42", data, partition_key="dev-9")

    # THEN it is quarantined with its reason, sequence number and bytes; nothing aggregated
    assert contribution.entries == [] and contribution.aggregated == 0
    [quarantined] = contribution.quarantined
    assert quarantined.reason.split(":", 1)[0] in {"schema", "decode", "range", "precision"}
    assert (quarantined.sequence_number, quarantined.partition_key) == ("42", "dev-9")
    assert quarantined.data == data
    fields = quarantined.log_fields()
    assert base64.b64decode(fields["data_b64"]) == data[:1024]


def test_unstorable_magnitude_is_quarantined_not_failed():
    # GIVEN a reading outside the contract's value grid (DynamoDB could not keep its square)
    data = telemetry_bytes(metrics={"pressure_pa": 1e200})

    # WHEN / THEN it is quarantined with a range reason
    [quarantined] = read_record("1", data).quarantined
    assert quarantined.reason.startswith("range:")


def test_zero_and_values_at_the_edges_of_the_grid_are_storable():
    # GIVEN zero, the finest step and the largest magnitude the value grid holds
    data = telemetry_bytes(metrics={"a": 0.0, "b": -0.0, "c": 1e-6, "d": 999999999.999999})
    # WHEN read / THEN aggregated
    contribution = read_record("1", data)
    assert contribution.aggregated == 1 and not contribution.quarantined


def test_a_value_finer_than_the_grid_is_quarantined_not_rounded():
    # GIVEN a reading with more decimals than the grid keeps exactly
    data = telemetry_bytes(metrics={"c": 1e-9})
    # WHEN / THEN it is quarantined with a precision reason
    [quarantined] = read_record("1", data).quarantined
    assert quarantined.reason.startswith("precision:")


def test_kpl_aggregate_is_split_and_each_user_record_judged_alone():
    # GIVEN a KPL aggregate of two valid records around one invalid one
    valid_a, valid_b = telemetry_record("dev-a"), telemetry_record("dev-b")
    data = kpl_aggregate([
        ("dev-a", telemetry_bytes(valid_a)),
        ("dev-x", unknown_version(7)),
        ("dev-b", telemetry_bytes(valid_b)),
    ])

    # WHEN the Kinesis record is read
    contribution = read_record("77", data)

    # THEN both valid records are aggregated and the invalid one is quarantined by position
    assert contribution.aggregated == 2
    assert {device for device, _ in contribution.entries} == {"dev-a", "dev-b"}
    [quarantined] = contribution.quarantined
    assert (quarantined.sub_sequence_number, quarantined.partition_key) == (1, "dev-x")


def test_split_user_records_passes_plain_records_through():
    # GIVEN a plain record / WHEN split / THEN it is the one user record
    assert split_user_records(b'{"v":1}') == [UserRecord(b'{"v":1}')]


def test_corrupted_kpl_aggregate_becomes_one_opaque_record():
    # GIVEN an aggregate whose digest no longer matches its body
    data = bytearray(kpl_aggregate([("dev-a", telemetry_bytes())]))
    data[10] ^= 0xFF

    # WHEN it is read
    contribution = read_record("5", bytes(data))

    # THEN it is a single quarantined record, not lost and not a failure
    assert contribution.aggregated == 0 and len(contribution.quarantined) == 1


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True),
       st.integers(min_value=1_577_836_800, max_value=4_102_444_799).map(lambda s: s - s % 60))
def test_cell_keys_round_trip(device_id, bucket):
    # GIVEN any device id the contract allows and a minute
    # WHEN it becomes a state cell key and back / THEN it is unchanged
    assert split_cell_key(cell_key(device_id, bucket)) == (device_id, bucket)
