"""Kinesis resharding under a mapping (docs/runbooks/resharding.md, shard_lineage.py).

A split or merge closes the parent shards, which keep their records; the children take
every record written after it. The mapping reads each parent to its end before any of
its children (per-key order), drops the parent once done, and reads the children from
their first record. A tumbling window ends with its shard: its final invoke comes at the
parent's end and the children start their own windows with a fresh state.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.harness import Harness, decode
from tests.conformance.test_kinesis_windows import COUNT

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z
KEYS = [f"dev-{n:03d}" for n in range(12)]  # spread over both halves of the hash range
CONSUMER_ACTIVATION_S = 1.0

RECORD = """
def lambda_handler(event, context):
    seen(event)
"""

def _put_round(harness: Harness, stream: str, label: str) -> list[str]:
    """One record per key, ``<label>:<key>``; return the payloads."""
    payloads = []
    for key in KEYS:
        payloads.append(f"{label}:{key}")
        harness.put(stream, [payloads[-1]], partition_key=key)
    return payloads


def _deliveries(harness: Harness, function: str) -> list[tuple[str, str]]:
    """(shard, payload) of every record delivered, in invocation order."""
    return [(r["eventID"].split(":")[0], decode(r))
            for event in harness.seen(function) for r in event["Records"]]


def _per_key(deliveries: list[tuple[str, str]]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for _, payload in deliveries:
        label, key = payload.split(":")
        keys.setdefault(key, []).append(label)
    return keys


def _shards(harness: Harness, stream: str) -> dict[str, dict[str, Any]]:
    return {s["ShardId"]: s for s in harness.client("kinesis").list_shards(
        StreamARN=stream)["Shards"]}


def _setup(harness: Harness, shards: int, *, efo: bool = False, **settings: Any) -> str:
    """A stream read by the ``reader`` function (through an ACTIVE stream consumer when
    ``efo``); return the stream's ARN."""
    harness.clock.advance_to(T0 - CONSUMER_ACTIVATION_S)
    stream = harness.stream("telemetry", shards=shards)
    source = harness.stream_consumer(stream, "fan-out") if efo else stream
    harness.clock.advance_to(T0)
    harness.function("reader", RECORD)
    harness.map(source, "reader", **settings)
    return stream


def _split(harness: Harness, stream: str) -> None:
    """Split the first shard in two halves of its hash key range."""
    harness.client("kinesis").split_shard(
        StreamARN=stream, ShardToSplit="shardId-000000000000",
        NewStartingHashKey=str(2**127))


@pytest.mark.parametrize("efo", [False, True], ids=["shared", "efo"])
def test_a_split_parent_is_read_to_its_end_before_its_children(harness: Harness,
                                                                efo: bool) -> None:
    # GIVEN one shard holding 12 records, read 2 per batch (six batches to drain it), by
    # a shared-throughput or an enhanced fan-out mapping
    stream = _setup(harness, 1, efo=efo, BatchSize=2)
    before = _put_round(harness, stream, "before")
    harness.start()
    harness.advance(1)

    # WHEN the shard is split while the mapping is still draining it, and records follow
    _split(harness, stream)
    after = _put_round(harness, stream, "after")
    harness.advance(30)

    # THEN every record was delivered exactly once
    deliveries = _deliveries(harness, "reader")
    assert sorted(p for _, p in deliveries) == sorted(before + after)
    # AND the parent's records all came before any child's, each key in order
    shards = [shard for shard, _ in deliveries]
    assert shards[:12] == ["shardId-000000000000"] * 12
    assert set(shards[12:]) == {"shardId-000000000001", "shardId-000000000002"}
    assert all(labels == ["before", "after"] for labels in _per_key(deliveries).values())
    # AND the parent, read to its end, is no longer consumed; its children are
    consumed = {c.shard_id for c in harness.engine.consumers()}
    assert consumed == {"shardId-000000000001", "shardId-000000000002"}
    # AND the parent kept its records (closed, with an ending sequence number)
    parent = _shards(harness, stream)["shardId-000000000000"]
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"]


def test_merged_parents_are_both_read_before_the_child(harness: Harness) -> None:
    # GIVEN two shards holding records, the mapping not started yet
    stream = _setup(harness, 2, BatchSize=3)
    before = _put_round(harness, stream, "before")

    # WHEN they are merged and records follow, then the mapping runs
    harness.client("kinesis").merge_shards(
        StreamARN=stream, ShardToMerge="shardId-000000000000",
        AdjacentShardToMerge="shardId-000000000001")
    after = _put_round(harness, stream, "after")
    harness.start()
    harness.advance(30)

    # THEN every record was delivered exactly once, each key in order
    deliveries = _deliveries(harness, "reader")
    assert sorted(p for _, p in deliveries) == sorted(before + after)
    assert all(labels == ["before", "after"] for labels in _per_key(deliveries).values())
    # AND the child's records came after both parents' (lineage names both)
    child = _shards(harness, stream)["shardId-000000000002"]
    assert (child["ParentShardId"], child["AdjacentParentShardId"]) == (
        "shardId-000000000000", "shardId-000000000001")
    shards = [shard for shard, _ in deliveries]
    assert set(shards[:12]) == {"shardId-000000000000", "shardId-000000000001"}
    assert shards[12:] == ["shardId-000000000002"] * 12


def test_update_shard_count_keeps_every_record_once_through_short_lived_shards(
        harness: Harness) -> None:
    # GIVEN two shards being read, with records before the reshard
    stream = _setup(harness, 2, BatchSize=5)
    before = _put_round(harness, stream, "before")
    harness.start()
    harness.advance(1)

    # WHEN UpdateShardCount goes to 3 (moto splits both, then merges two children:
    # short-lived shards, as AWS's UpdateShardCount may create) and records follow
    harness.client("kinesis").update_shard_count(
        StreamARN=stream, TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    middle = _put_round(harness, stream, "middle")
    harness.advance(10)
    after = _put_round(harness, stream, "after")
    harness.advance(30)

    # THEN every record was delivered exactly once, each key in order
    deliveries = _deliveries(harness, "reader")
    assert sorted(p for _, p in deliveries) == sorted(before + middle + after)
    assert all(labels == ["before", "middle", "after"]
               for labels in _per_key(deliveries).values())
    # AND only the three open shards are still consumed
    open_shards = {s for s, d in _shards(harness, stream).items()
                   if "EndingSequenceNumber" not in d["SequenceNumberRange"]}
    assert len(open_shards) == 3
    assert {c.shard_id for c in harness.engine.consumers()} == open_shards


def test_a_window_ends_with_its_shard_and_children_start_a_fresh_state(
        harness: Harness) -> None:
    # GIVEN 60 s tumbling windows counting records, 12 records in the open window
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("counter", COUNT)
    harness.map(stream, "counter", TumblingWindowInSeconds=60, BatchSize=100)
    harness.clock.advance_to(T0 + 5)
    _put_round(harness, stream, "before")
    harness.start()
    harness.advance(5)

    # WHEN the shard is split mid-window and 12 more records arrive in the same window
    _split(harness, stream)
    _put_round(harness, stream, "after")
    harness.advance(90)

    # THEN the parent's window got its final invoke at the shard's end, well before the
    # window's own end (T0 + 60), with the parent's count
    finals = [(e["shardId"], e["state"]) for e in harness.seen("counter")
              if e["isFinalInvokeForWindow"]]
    assert finals[0] == ("shardId-000000000000", {"count": 12})
    parent_final = next(i for i in harness.engine.invocation_log if i.final_for_window)
    assert parent_final.at - T0 < 60
    # AND each child started the same window afresh, and closed it with its own count
    first_child_calls = {}
    for event in harness.seen("counter"):
        if event["shardId"] != "shardId-000000000000":
            first_child_calls.setdefault(event["shardId"], event)
    assert {e["state"]["count"] if e["state"] else 0 for e in first_child_calls.values()} == {0}
    assert all(e["window"]["start"] == "2030-01-01T00:00:00Z"
               for e in first_child_calls.values())
    child_counts = [state.get("count", 0) for shard, state in finals[1:]]
    assert sorted(shard for shard, _ in finals[1:]) == [
        "shardId-000000000001", "shardId-000000000002"]
    # AND the windows together counted every record once
    assert 12 + sum(child_counts) == 24


def test_a_latest_mapping_created_after_a_reshard_reads_only_the_open_shards(
        harness: Harness) -> None:
    # GIVEN a stream split before any mapping existed, records in parent and children
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    _put_round(harness, stream, "old")
    _split(harness, stream)
    _put_round(harness, stream, "older")

    # WHEN a LATEST mapping starts, and records follow
    harness.function("reader", RECORD)
    harness.map(stream, "reader", StartingPosition="LATEST")
    harness.start()
    harness.advance(1)
    new = _put_round(harness, stream, "new")
    harness.advance(5)

    # THEN it got only the new records, from the children
    deliveries = _deliveries(harness, "reader")
    assert sorted(p for _, p in deliveries) == sorted(new)
    assert {s for s, _ in deliveries} <= {"shardId-000000000001", "shardId-000000000002"}


@pytest.mark.parametrize("target", [7, 1])
def test_update_shard_count_refuses_more_than_double_or_less_than_half(
        harness: Harness, target: int) -> None:
    # GIVEN a stream of 3 open shards
    stream = harness.stream("telemetry", shards=3)
    kinesis = harness.client("kinesis")

    # WHEN UpdateShardCount asks for more than double or less than half
    with pytest.raises(kinesis.exceptions.LimitExceededException):
        kinesis.update_shard_count(StreamARN=stream, TargetShardCount=target,
                                   ScalingType="UNIFORM_SCALING")

    # THEN nothing changed
    assert len(_shards(harness, stream)) == 3


def test_update_shard_count_refuses_an_eleventh_scaling_within_24_hours(
        harness: Harness) -> None:
    # GIVEN a stream scaled ten times (1 -> 2 -> 1 ...)
    stream = harness.stream("telemetry")
    kinesis = harness.client("kinesis")
    for scaling in range(10):
        kinesis.update_shard_count(StreamARN=stream, TargetShardCount=2 - scaling % 2,
                                   ScalingType="UNIFORM_SCALING")

    # WHEN it is scaled an eleventh time within the same 24 hours
    # THEN UpdateShardCount refuses
    with pytest.raises(kinesis.exceptions.LimitExceededException, match="24-hour"):
        kinesis.update_shard_count(StreamARN=stream, TargetShardCount=2,
                                   ScalingType="UNIFORM_SCALING")
