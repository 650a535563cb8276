"""The planner's model: shards from the Kinesis limits, what KPL aggregation and the
one-minute partials save, invocations from the mappings' batching."""

from __future__ import annotations

import itertools

import pytest

from shardline.planner.model import Workload, naive_writes, plan
from shardline.planner.settings import BatchSettings
from shardline.planner.stream import WRITE_BYTES_PER_SHARD, stream_load
from tests.factories.planner import deployment_of, workload_of


def test_doubling_hz_doubles_the_stream_load_until_a_shard_boundary() -> None:
    # GIVEN unaggregated producers, 100 devices of 200-byte records
    loads = [stream_load(100 * hz, 200, aggregate=False) for hz in (1, 2, 4, 8, 16)]
    # WHEN the rate doubles, again and again
    # THEN bytes and records double each time
    for before, after in itertools.pairwise(loads):
        assert after.bytes_per_s == pytest.approx(2 * before.bytes_per_s)
        assert after.kinesis_records_per_s == pytest.approx(2 * before.kinesis_records_per_s)
    # AND one shard carries them until 1,000 records/s, then two do
    assert [load.shards for load in loads] == [1, 1, 1, 1, 2]
    assert loads[-1].binding_limit == "1,000 records/s written per shard"


def test_shards_follow_the_byte_limit_for_large_records() -> None:
    # GIVEN 10 KB records at 300 records/s: 3 MB/s, well under 1,000 records/s per shard
    load = stream_load(300, 10_000, aggregate=False)
    # THEN the 1 MiB/s write limit sets the count
    assert load.shards == 3
    assert load.bytes_per_s / load.shards <= WRITE_BYTES_PER_SHARD
    assert load.binding_limit == "1 MiB/s written per shard"


def test_too_few_shards_given_is_refused() -> None:
    # GIVEN a load that needs several shards WHEN one is imposed THEN it is refused
    with pytest.raises(ValueError, match="1 shards cannot carry this load: it needs 3"):
        stream_load(300, 10_000, aggregate=False, shards=1)


def test_kpl_aggregation_cuts_put_payload_units_and_records() -> None:
    # GIVEN 5,000 devices at 1 Hz, 200-byte records
    workload = dict(devices=5000, hz=1.0, record_bytes=200)
    # WHEN planned with and without KPL aggregation
    packed = plan(workload_of(**workload, aggregate=True), deployment_of()).stream
    single = plan(workload_of(**workload, aggregate=False), deployment_of()).stream
    # THEN each user record costs one PUT payload unit without it, a fraction with it
    assert single.put_payload_units_per_s == pytest.approx(5000)
    assert packed.put_payload_units_per_s < single.put_payload_units_per_s / 10
    # AND fewer Kinesis records need fewer shards (records/s bound 5 shards without it)
    assert single.shards == 5
    assert packed.shards < single.shards


def test_partials_make_dynamodb_writes_independent_of_the_reading_rate() -> None:
    # GIVEN a live fleet with 60 s tumbling windows
    deployment = deployment_of(tumbling_window_s=60)
    # WHEN the reading rate quadruples
    slow = plan(workload_of(hz=0.5), deployment).items_by_writer
    fast = plan(workload_of(hz=2.0), deployment).items_by_writer
    # THEN the aggregator writes the same partials: one per device-minute
    assert slow["aggregator"] == pytest.approx(fast["aggregator"])
    assert slow["aggregator"] == pytest.approx(100 * Workload(1, 1, 1).event_seconds / 60)
    # AND so does the rollup; while the per-reading design's writes quadruple
    assert slow["rollup"] == pytest.approx(fast["rollup"])
    assert naive_writes(workload_of(hz=2.0)) == pytest.approx(4 * naive_writes(workload_of(hz=0.5)))


def test_shorter_windows_write_a_partial_per_window_and_minute() -> None:
    # GIVEN 10 s tumbling windows (envs/local.tfvars), a live fleet at 1 Hz
    result = plan(workload_of(), deployment_of(tumbling_window_s=10))
    # THEN each device-minute gets a partial from each of its six windows
    device_minutes = 100 * result.workload.event_seconds / 60
    assert result.items_by_writer["aggregator"] == pytest.approx(6 * device_minutes)


def test_a_slow_device_writes_at_most_a_partial_per_reading() -> None:
    # GIVEN devices reporting every 5 minutes, 10 s windows
    result = plan(workload_of(hz=1 / 300), deployment_of(tumbling_window_s=10))
    # THEN partials are one per reading, not one per window
    assert result.items_by_writer["aggregator"] == pytest.approx(result.workload.user_records)


def test_a_window_past_the_seal_size_is_flushed_in_pieces() -> None:
    # GIVEN 20,000 devices at 1 Hz on one forced shard... of enough capacity (aggregated)
    result = plan(workload_of(devices=20_000, hz=1.0), deployment_of())
    # THEN the note says so, and each device-minute has more than one partial
    assert any("pieces" in note for note in result.notes)
    device_minutes = 20_000 * result.workload.event_seconds / 60
    assert result.items_by_writer["aggregator"] > device_minutes


def test_aggregator_invocations_are_batches_plus_a_final_invoke_per_window() -> None:
    # GIVEN 2 minutes of 60 devices at 1 Hz on 2 shards (7,200 records), replayed in 6 s
    # (within one 10 s window), batches of 500
    result = plan(workload_of(devices=60, hz=1.0, aggregate=False, shards=2, speed=20,
                              event_seconds=120), deployment_of(tumbling_window_s=10))
    # THEN each shard takes 3,600 / 500 full batches and one final invoke
    assert result.functions["aggregator"].invocations == pytest.approx(2 * (3600 / 500 + 1))


def test_live_invocations_follow_the_batching_window() -> None:
    # GIVEN a trickle (100 records/s on one shard) and a 5 s batching window
    result = plan(workload_of(aggregate=False), deployment_of(tumbling_window_s=60))
    seconds = result.workload.event_seconds
    # THEN a batch every 5 s and a final invoke every 60 s
    assert result.functions["aggregator"].invocations == pytest.approx(seconds / 5 + seconds / 60)


def test_replaying_faster_needs_more_shards() -> None:
    # GIVEN a fleet one shard carries live WHEN replayed at 10x THEN it needs more
    live = plan(workload_of(devices=500, aggregate=False), deployment_of()).stream
    replay = plan(workload_of(devices=500, aggregate=False, speed=10), deployment_of()).stream
    assert (live.shards, replay.shards) == (1, 5)


def test_fanout_adds_the_dispatcher_and_its_workers() -> None:
    # GIVEN the same fleet with and without fanout
    without = plan(workload_of(fanout=False), deployment_of())
    with_fanout = plan(workload_of(fanout=True), deployment_of())
    # THEN only the fanout plan has the dispatcher, workers and archive
    assert "dispatcher" not in without.functions and without.archive_bytes == 0
    assert {"dispatcher", "device_state", "alerts", "archive"} <= set(with_fanout.functions)
    assert with_fanout.archive_bytes > 0


def test_device_state_writes_its_state_item_and_one_per_metric_per_device() -> None:
    # GIVEN a fanout fleet whose readings carry 3 metrics, then 5
    plans = {metrics: plan(workload_of(fanout=True, metrics=metrics), deployment_of())
             for metrics in (3, 5)}
    # THEN per payload each device costs the device-state worker 1 + metrics conditional
    # writes (lambdas/device_state/state.py), and the alerts worker one per rule
    per_write = {metrics: p.tables["device-state"].items_written / (1 + metrics)
                 for metrics, p in plans.items()}
    assert per_write[3] == pytest.approx(per_write[5])
    assert plans[3].tables["device-state"].items_written == pytest.approx(
        2 * plans[3].tables["alerts"].items_written)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("devices", 0, "devices must be >= 1"),
    ("hz", 0, "hz must be > 0"),
    ("speed", 0.5, "speed must be >= 1"),
    ("shards", 0, "shards must be >= 1"),
])
def test_a_workload_out_of_range_is_refused(field: str, value: float, message: str) -> None:
    # GIVEN one field out of range WHEN a workload is made THEN it says which
    with pytest.raises(ValueError, match=message):
        workload_of(**{field: value})


def test_a_slow_consumer_takes_fewer_larger_batches() -> None:
    # GIVEN a trickle on one shard (10 records/s), batches gathered for 5 s
    workload = workload_of(devices=10, aggregate=False, fanout=False)
    quick = plan(workload, deployment_of())
    # WHEN each invocation lasts 20 s (a shard's next batch waits for it)
    slow = plan(workload, deployment_of(), durations={"aggregator": (20_000.0, 0.0)})
    # THEN a batch starts every 20 s instead of every 5 s (final invokes unchanged)
    seconds = workload.event_seconds
    assert quick.functions["aggregator"].invocations == pytest.approx(seconds / 5 + seconds / 60)
    assert slow.functions["aggregator"].invocations == pytest.approx(seconds / 20 + seconds / 60)


def test_a_run_shorter_than_a_window_writes_a_partial_per_device() -> None:
    # GIVEN 8 s of a live fleet, inside one 10 s window
    result = plan(workload_of(devices=50, hz=2.0, event_seconds=8),
                  deployment_of(tumbling_window_s=10))
    # THEN each device's readings make one partial, and its totals one per metric
    assert result.items_by_writer["aggregator"] == pytest.approx(50)
    assert result.items_by_writer["rollup"] == pytest.approx(50 * 3 + 8)


def test_each_batching_window_sends_full_batches_and_one_partial() -> None:
    # GIVEN 60 records/s on each of 2 shards, batches of 25 gathered for 1 s
    deployment = deployment_of(tumbling_window_s=10,
                               aggregator=BatchSettings(batch_size=25, batching_window_s=1.0))
    result = plan(workload_of(devices=60, hz=2.0, aggregate=False, shards=2,
                              event_seconds=10), deployment)
    # THEN each second of each shard sends two full batches and a partial one, and each
    # shard's window ends with a final invoke
    assert result.functions["aggregator"].invocations == pytest.approx(2 * (10 * 3 + 1))
