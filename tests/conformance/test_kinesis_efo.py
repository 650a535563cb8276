"""Enhanced fan-out: a mapping on a stream consumer (AWS-SEMANTICS.md, "enhanced fan-out").

moto has no SubscribeToShard, so shardline polls the parent stream for an EFO mapping
too — every 0.5 s, against 1 s for shared throughput — with its own iterator and
checkpoints, so it is independent of every other mapping on the stream. Its records
carry the stream's ARN as ``eventSourceARN``, as Kinesis records do.
"""

from __future__ import annotations

from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

RECORD = """
def lambda_handler(event, context):
    seen(event)
    return {}
"""

FAIL_ONCE = """
calls = []

def lambda_handler(event, context):
    seen(event)
    calls.append(1)
    if len(calls) == 1:
        raise RuntimeError("first call fails")
    return {}
"""


def _batches(harness: Harness, function: str) -> list[list[str]]:
    return [[decode(r) for r in event["Records"]] for event in harness.seen(function)]


def test_shared_and_efo_mappings_each_get_every_record(harness: Harness) -> None:
    # GIVEN a stream with a shared-throughput mapping and an EFO consumer mapping whose
    # handler fails once
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    consumer_arn = harness.stream_consumer(stream, "fan-out")
    harness.function("shared", RECORD)
    harness.function("fanout", FAIL_ONCE)
    harness.map(stream, "shared", BatchSize=10)
    harness.map(consumer_arn, "fanout", BatchSize=2)
    harness.start()

    # WHEN records arrive a quarter second into the run
    harness.advance(0.25)
    harness.put(stream, ["1", "2", "3", "4", "5"])
    harness.advance(3)

    # THEN each mapping got every record with its own batching and retries: the EFO
    # mapping's retry did not hold back the shared one, nor the other way round
    assert _batches(harness, "shared") == [["1", "2", "3", "4", "5"]]
    assert _batches(harness, "fanout") == [["1", "2"], ["1", "2"], ["3", "4"], ["5"]]
    # AND the EFO mapping read them at its next half-second poll, the shared one at 1 s
    first = {}
    for invocation in harness.engine.invocation_log:
        first.setdefault(invocation.function.rsplit(":", 1)[-1], round(invocation.at - T0, 3))
    assert first == {"fanout": 0.5, "shared": 1.0}
    # AND the records name the stream
    records = harness.seen("fanout")[0]["Records"]
    assert {r["eventSourceARN"] for r in records} == {stream}
    # AND each mapping checkpointed on its own
    checkpoints = {c.mapping.source_arn: c.checkpoint for c in harness.engine.consumers()}
    assert checkpoints[stream] == checkpoints[consumer_arn] is not None
