"""Kinesis mappings: polling, BatchSize, MaximumBatchingWindowInSeconds, StartingPosition
(AWS-SEMANTICS.md, "Lambda event source mappings for streams")."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

RECORD_AND_SUCCEED = """
def lambda_handler(event, context):
    seen(event)
    return {}
"""


def _batches(harness: Harness, function: str) -> list[list[str]]:
    return [[decode(r) for r in event["Records"]] for event in harness.seen(function)]


def _invoked_at(harness: Harness) -> list[float]:
    return [round(i.at - T0, 3) for i in harness.engine.invocation_log]


def test_one_get_records_per_second_per_shard(harness: Harness) -> None:
    # GIVEN a two-shard stream with a mapping
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry", shards=2)
    harness.function("sink", RECORD_AND_SUCCEED)
    harness.map(stream, "sink")

    # WHEN three seconds pass
    harness.start()
    harness.advance(3)

    # THEN each shard was polled once a second: at 0, 1, 2 and 3 s
    assert sorted((c.shard_id, c.polls) for c in harness.engine.consumers()) == [
        ("shardId-000000000000", 4), ("shardId-000000000001", 4)]


def test_batch_size_caps_every_batch(harness: Harness) -> None:
    # GIVEN 7 records and BatchSize 3
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD_AND_SUCCEED)
    harness.map(stream, "sink", BatchSize=3)
    harness.put(stream, [str(i) for i in range(1, 8)])

    # WHEN the engine runs
    harness.start()
    harness.advance(2)

    # THEN the handler got full batches, then the rest, all from the first poll
    assert _batches(harness, "sink") == [["1", "2", "3"], ["4", "5", "6"], ["7"]]
    assert _invoked_at(harness) == [0.0, 0.0, 0.0]


def test_batching_window_holds_records_until_it_passes(harness: Harness) -> None:
    # GIVEN a 5 s batching window and a batch size the records never fill
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD_AND_SUCCEED)
    harness.map(stream, "sink", BatchSize=100, MaximumBatchingWindowInSeconds=5)
    harness.put(stream, ["1", "2"])

    # WHEN a third record arrives 3 s later and the engine runs on
    harness.start()
    harness.advance(3)
    assert _batches(harness, "sink") == []
    harness.put(stream, ["3"])
    harness.advance(7)

    # THEN one batch of all three was invoked when the window passed, 5 s after the
    # first records were read
    assert _batches(harness, "sink") == [["1", "2", "3"]]
    assert _invoked_at(harness) == [5.0]


def test_a_full_batch_does_not_wait_for_the_batching_window(harness: Harness) -> None:
    # GIVEN a 5 s batching window, BatchSize 3 and 4 records
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD_AND_SUCCEED)
    harness.map(stream, "sink", BatchSize=3, MaximumBatchingWindowInSeconds=5)
    harness.put(stream, ["1", "2", "3", "4"])

    # WHEN the engine runs past the window
    harness.start()
    harness.advance(6)

    # THEN the full batch went at once, the remainder when the window passed
    assert _batches(harness, "sink") == [["1", "2", "3"], ["4"]]
    assert _invoked_at(harness) == [0.0, 5.0]


def test_trim_horizon_delivers_records_put_before_the_mapping(harness: Harness) -> None:
    # GIVEN records already in the stream when a TRIM_HORIZON mapping is created
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.put(stream, ["old-1", "old-2"])
    harness.function("sink", RECORD_AND_SUCCEED)
    harness.map(stream, "sink", StartingPosition="TRIM_HORIZON")

    # WHEN more arrive while it runs
    harness.start()
    harness.advance(1.5)
    harness.put(stream, ["new"])
    harness.advance(1)

    # THEN the handler got everything, oldest first
    assert _batches(harness, "sink") == [["old-1", "old-2"], ["new"]]


def test_latest_skips_records_put_before_the_mapping_started(harness: Harness) -> None:
    # GIVEN records already in the stream when a LATEST mapping starts
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.put(stream, ["old-1", "old-2"])
    harness.function("sink", RECORD_AND_SUCCEED)
    harness.map(stream, "sink", StartingPosition="LATEST")
    harness.start()

    # WHEN new records arrive
    harness.put(stream, ["new-1"])
    harness.advance(1.5)
    harness.put(stream, ["new-2"])
    harness.advance(1)

    # THEN only the new ones are delivered
    assert _batches(harness, "sink") == [["new-1"], ["new-2"]]


def test_at_timestamp_starts_at_the_first_record_at_or_after_it(harness: Harness) -> None:
    # GIVEN records put at 0 s, 10 s and 20 s, and a mapping AT_TIMESTAMP 10 s
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.put(stream, ["at-0"])
    harness.clock.advance_to(T0 + 10)
    harness.put(stream, ["at-10"])
    harness.clock.advance_to(T0 + 20)
    harness.put(stream, ["at-20"])
    harness.function("sink", RECORD_AND_SUCCEED)
    harness.map(stream, "sink", StartingPosition="AT_TIMESTAMP",
                StartingPositionTimestamp=datetime.fromtimestamp(T0 + 10, tz=UTC))

    # WHEN the engine runs
    harness.start()
    harness.advance(2)

    # THEN delivery starts at the record that arrived at the timestamp
    assert _batches(harness, "sink") == [["at-10", "at-20"]]
