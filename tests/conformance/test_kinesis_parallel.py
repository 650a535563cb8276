"""ParallelizationFactor: up to N batches of one shard at once, records of one partition
key in order (AWS-SEMANTICS.md, "ParallelizationFactor").

shardline splits a shard into N lanes by MD5(partition key) mod N; each lane batches,
retries and checkpoints on its own, and the shard's checkpoint is the last record before
the oldest unfinished one. Deterministic runs interleave the lanes' invocations at the
same instant; real-time runs invoke them concurrently.
"""

from __future__ import annotations

from collections import defaultdict

from shardline.local.mappings import StreamMapping
from shardline.local.stream_consumer import Invocation, ShardConsumer
from shardline.local.stream_lanes import partition_lane
from shardline.local.stream_sources import open_reader
from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

RECORD = """
def lambda_handler(event, context):
    seen(event)
    return {}
"""

KEYS = [f"device-{n}" for n in range(12)]


def _keyed_batches(harness: Harness, function: str) -> list[list[tuple[str, str]]]:
    return [[(r["kinesis"]["partitionKey"], decode(r)) for r in event["Records"]]
            for event in harness.seen(function)]


def test_n_lanes_each_keep_their_keys_in_order(harness: Harness) -> None:
    # GIVEN ParallelizationFactor 3, BatchSize 4, and 12 keys with 3 records each,
    # interleaved
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)
    harness.map(stream, "sink", BatchSize=4, ParallelizationFactor=3)
    for n in range(3):
        for key in KEYS:
            harness.put(stream, [f"{key}/{n}"], partition_key=key)

    # WHEN the engine runs
    harness.start()
    harness.advance(1)

    # THEN the first round of batches came from the 3 lanes at once, each batch holding
    # keys of one lane only
    batches = _keyed_batches(harness, "sink")
    lanes = [{partition_lane(key, 3) for key, _ in batch} for batch in batches]
    assert all(len(lane) == 1 for lane in lanes)
    assert [lane.pop() for lane in lanes[:3]] == [0, 1, 2]
    first_round = [round(i.at - T0, 3) for i in list(harness.engine.invocation_log)[:3]]
    assert first_round == [0.0, 0.0, 0.0]
    # AND every key's records arrived once, in order
    per_key: dict[str, list[str]] = defaultdict(list)
    for batch in batches:
        for key, payload in batch:
            per_key[key].append(payload)
    assert per_key == {key: [f"{key}/{n}" for n in range(3)] for key in KEYS}


def test_a_changed_factor_applies_from_the_next_batches(harness: Harness) -> None:
    # GIVEN a running mapping with ParallelizationFactor 1, keys a and b in different
    # lanes once there are 2
    a = next(k for k in KEYS if partition_lane(k, 2) == 0)
    b = next(k for k in KEYS if partition_lane(k, 2) == 1)
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)
    uuid = harness.map(stream, "sink", BatchSize=10)
    harness.start()
    for payload, key in [("a1", a), ("b1", b)]:
        harness.put(stream, [payload], partition_key=key)
    harness.advance(1)

    # WHEN the factor becomes 2 and more records arrive
    harness.client("lambda").update_event_source_mapping(UUID=uuid, ParallelizationFactor=2)
    harness.advance(2.5)
    for payload, key in [("a2", a), ("b2", b), ("a3", a), ("b3", b)]:
        harness.put(stream, [payload], partition_key=key)
    harness.advance(1)

    # THEN the later records were split by key into two batches
    batches = [[payload for _, payload in batch] for batch in _keyed_batches(harness, "sink")]
    assert batches == [["a1", "b1"], ["a2", "a3"], ["b2", "b3"]]


FAIL_ON_POISON = """
def lambda_handler(event, context):
    seen(event)
    if "poison" in payloads(event):
        raise ValueError("poison")
    return {}
"""


def test_a_failing_batch_blocks_only_its_lane(harness: Harness) -> None:
    # GIVEN ParallelizationFactor 2, keys a and b in different lanes, unlimited retries,
    # and a poison record among a's
    a = next(k for k in KEYS if partition_lane(k, 2) == 0)
    b = next(k for k in KEYS if partition_lane(k, 2) == 1)
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", FAIL_ON_POISON)
    harness.map(stream, "sink", BatchSize=1, ParallelizationFactor=2)
    sequence_numbers = [harness.put(stream, [payload], partition_key=key)[0]
                        for payload, key in [("a1", a), ("b1", b), ("poison", a),
                                             ("b2", b), ("a2", a), ("b3", b)]]

    # WHEN the engine runs
    harness.start()
    harness.advance(5)

    # THEN b's lane delivered everything; a's lane is stuck at the poison record, a2
    # waiting behind it
    delivered = [payload for batch in _keyed_batches(harness, "sink") for _, payload in batch]
    assert [p for p in delivered if p != "poison"] == ["a1", "b1", "b2", "b3"]
    assert delivered.count("poison") > 1
    # AND the shard's checkpoint is the last record before the oldest unfinished one
    (consumer,) = harness.engine.consumers()
    assert consumer.checkpoint == sequence_numbers[1]


SLOW = """
import threading, time

lock = threading.Lock()
running = [0]
peak = [0]

def lambda_handler(event, context):
    with lock:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
    time.sleep(0.3)
    with lock:
        running[0] -= 1
    seen({"peak": peak[0], "keys": [r["kinesis"]["partitionKey"] for r in event["Records"]]})
    return {}
"""


def test_real_time_lanes_invoke_concurrently(harness: Harness) -> None:
    """The consumer as the real-time engine runs it (concurrent lanes), stepped by hand."""
    # GIVEN ParallelizationFactor 3, a slow handler, and records of every lane
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("slow", SLOW, timeout=5)
    uuid = harness.map(stream, "slow", BatchSize=10, ParallelizationFactor=3)
    keys = [next(k for k in KEYS if partition_lane(k, 3) == lane) for lane in range(3)]
    for key in keys:
        harness.put(stream, ["x"], partition_key=key)
    mapping = StreamMapping.from_api(
        harness.client("lambda").get_event_source_mapping(UUID=uuid))
    log: list[Invocation] = []
    consumer = ShardConsumer(
        mapping=mapping, shard_id="shardId-000000000000",
        reader=open_reader(harness.client, mapping, "shardId-000000000000",
                           harness.engine.read_budgets),
        invoke=harness.runtime.invoke, send_to_destination=harness.engine.send_to_destination,
        record_invocation=log.append, concurrent_lanes=True)

    # WHEN it takes one step
    consumer.step(T0)

    # THEN the three lanes' batches ran at the same time
    assert sorted(call["keys"][0] for call in harness.seen("slow")) == sorted(keys)
    assert [call["peak"] for call in harness.seen("slow")] == [3, 3, 3]
    assert [i.outcome for i in log] == ["ok", "ok", "ok"]
