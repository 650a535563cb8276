"""Stream mappings created, changed, disabled and deleted while the engine runs: picked
up at the next discovery pass, every 2 s (AWS-SEMANTICS.md, "Lambda event source mappings
for streams")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

RECORD = """
def lambda_handler(event, context):
    seen(event)
    return {}
"""


def _batches(harness: Harness, function: str) -> list[list[str]]:
    return [[decode(r) for r in event["Records"]] for event in harness.seen(function)]


def _running(harness: Harness) -> str:
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)
    harness.start()
    return stream


def test_a_mapping_created_while_running_is_picked_up(harness: Harness) -> None:
    # GIVEN a running engine and a stream with records, but no mapping yet
    stream = _running(harness)
    harness.put(stream, ["1", "2"])
    harness.advance(3)
    assert _batches(harness, "sink") == []

    # WHEN a mapping is created
    harness.map(stream, "sink")
    harness.advance(2.5)

    # THEN the next discovery starts consuming
    assert _batches(harness, "sink") == [["1", "2"]]


def test_a_changed_batch_size_applies_from_the_next_batch(harness: Harness) -> None:
    # GIVEN a running mapping with BatchSize 2
    stream = _running(harness)
    uuid = harness.map(stream, "sink", BatchSize=2)
    harness.put(stream, ["1", "2", "3"])
    harness.advance(1)

    # WHEN BatchSize becomes 5 and more records arrive
    harness.client("lambda").update_event_source_mapping(UUID=uuid, BatchSize=5)
    harness.advance(2.5)
    harness.put(stream, ["4", "5", "6", "7", "8"])
    harness.advance(1)

    # THEN batches after the change hold up to 5 records
    assert _batches(harness, "sink") == [["1", "2"], ["3"], ["4", "5", "6", "7", "8"]]


def test_a_disabled_mapping_stops_and_resumes_where_it_stopped(harness: Harness) -> None:
    """Re-enabled, a mapping resumes after its last checkpoint (not at its starting
    position again)."""
    # GIVEN a running TRIM_HORIZON mapping that delivered record 1
    stream = _running(harness)
    uuid = harness.map(stream, "sink")
    harness.put(stream, ["1"])
    harness.advance(1)
    lambda_api = harness.client("lambda")

    # WHEN it is disabled, a record arrives, time passes, and it is enabled again
    lambda_api.update_event_source_mapping(UUID=uuid, Enabled=False)
    harness.advance(2.5)
    harness.put(stream, ["2"])
    harness.advance(5)
    assert _batches(harness, "sink") == [["1"]]
    lambda_api.update_event_source_mapping(UUID=uuid, Enabled=True)
    harness.advance(2.5)

    # THEN record 2 is delivered after the pause, record 1 not again
    assert _batches(harness, "sink") == [["1"], ["2"]]


def test_a_deleted_mapping_stops(harness: Harness) -> None:
    # GIVEN a running mapping that delivered record 1
    stream = _running(harness)
    uuid = harness.map(stream, "sink")
    harness.put(stream, ["1"])
    harness.advance(1)

    # WHEN it is deleted and more records arrive
    harness.client("lambda").delete_event_source_mapping(UUID=uuid)
    harness.advance(2.5)
    harness.put(stream, ["2"])
    harness.advance(3)

    # THEN nothing more is delivered and the engine has no consumer left
    assert _batches(harness, "sink") == [["1"]]
    assert harness.engine.consumers() == []


def test_parallelization_with_a_tumbling_window_is_rejected(harness: Harness) -> None:
    # GIVEN a stream and a function
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)

    # WHEN a mapping asks for both ParallelizationFactor 2 and a tumbling window
    with pytest.raises(ClientError) as raised:
        harness.map(stream, "sink", ParallelizationFactor=2, TumblingWindowInSeconds=10)

    # THEN CreateEventSourceMapping refuses it as AWS does
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "Parallelization factor must be equal to 1" in str(raised.value)
