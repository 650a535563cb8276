"""The Kinesis event factories produce what AWS sends (others' tests build on them)."""

from __future__ import annotations

import base64

from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent

from lambdas.shared import telemetry
from lambdas.shared.kpl import split_user_records
from tests.factories.kinesis import (
    KinesisShard,
    iso_utc,
    lambda_context,
    run_window,
    tumbling_window_event,
)
from tests.factories.telemetry import device_series, telemetry_bytes, telemetry_record


def test_shard_records_have_increasing_sequence_numbers_and_arrival_times():
    # GIVEN a shard / WHEN it hands out records
    records = KinesisShard(shard_id="shardId-000000000002").records(device_series("d-1", 4))

    # THEN sequence numbers and arrivals increase, ids name the shard, data is the record
    sequence_numbers = [int(r["kinesis"]["sequenceNumber"]) for r in records]
    arrivals = [r["kinesis"]["approximateArrivalTimestamp"] for r in records]
    assert sequence_numbers == sorted(set(sequence_numbers))
    assert arrivals == sorted(arrivals) and len(set(arrivals)) == 4
    assert all(r["eventID"] == f"shardId-000000000002:{r['kinesis']['sequenceNumber']}"
               for r in records)
    first = base64.b64decode(records[0]["kinesis"]["data"])
    assert telemetry.decode(first).device_id == records[0]["kinesis"]["partitionKey"] == "d-1"


def test_window_event_parses_with_powertools_event_classes():
    # GIVEN a final tumbling-window event with state
    records = KinesisShard().records([telemetry_record()])
    event = tumbling_window_event(records, window_start_s=1_596_128_400, window_seconds=120,
                                  state={"k": 1}, is_final=True)

    # WHEN read through Powertools' Kinesis event class
    parsed = KinesisStreamEvent(event)

    # THEN the tumbling-window fields are those AWS documents
    assert parsed.window.start == "2020-07-30T17:00:00Z" == iso_utc(1_596_128_400)
    assert parsed.window.end == "2020-07-30T17:02:00Z"
    assert parsed.state == {"k": 1}
    assert parsed.is_final_invoke_for_window is True
    assert parsed.is_window_terminated_early is False
    assert parsed.shard_id == "shardId-000000000000"
    assert next(parsed.records).kinesis.data_as_bytes() == telemetry_bytes()


def test_aggregated_record_carries_its_user_records_in_order():
    # GIVEN three payloads packed into one KPL record
    payloads = device_series("d-1", 3)
    record = KinesisShard().aggregated_record(payloads)

    # WHEN the record is split
    user_records = split_user_records(base64.b64decode(record["kinesis"]["data"]))

    # THEN the payloads come back in order with sub-sequence numbers and partition keys
    assert [telemetry.decode(u.data) for u in user_records] == payloads
    assert [u.sub_sequence_number for u in user_records] == [0, 1, 2]
    assert record["kinesis"]["partitionKey"] == "d-1"


def test_run_window_carries_state_and_ends_with_the_final_invoke():
    # GIVEN a handler that records what it is given
    seen = []

    def handler(event, context):
        seen.append((len(event["Records"]), event["state"], event["isFinalInvokeForWindow"]))
        return {"state": {"n": event["state"].get("n", 0) + len(event["Records"])}}

    shard = KinesisShard(shard_id="shardId-000000000005")
    records = shard.records(device_series("d", 5))

    # WHEN a window of two batches and a final invoke is run
    responses = run_window(handler, [records[:2], records[2:4]], final_batch=records[4:])

    # THEN state flows from one invocation to the next and only the last is final
    assert seen == [(2, {}, False), (2, {"n": 2}, False), (1, {"n": 4}, True)]
    assert responses[-1]["state"] == {"n": 5}


def test_lambda_context_has_what_powertools_reads():
    # GIVEN / WHEN a context / THEN the attributes Powertools' logger injects are there
    context = lambda_context("dispatcher")
    assert context.function_name == "dispatcher"
    assert context.invoked_function_arn.endswith(":function:dispatcher")
    assert context.memory_limit_in_mb and context.aws_request_id
    assert context.get_remaining_time_in_millis() > 0
