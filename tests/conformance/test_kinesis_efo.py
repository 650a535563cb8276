"""Enhanced fan-out: a mapping on a stream consumer (AWS-SEMANTICS.md, "enhanced fan-out";
``shardline.local.efo_subscription``).

Records are pushed to an EFO mapping by its consumer's subscription 70 ms after they
arrive (the typical propagation delay AWS gives), not polled; each consumer reads 2 MiB/s
per shard of its own, while shared-throughput mappings share the shard's 2 MiB/s and 5
GetRecords calls/s; a subscription lasts 5 minutes and the next continues after the
ContinuationSequenceNumber; consumers are CREATING before ACTIVE, at most 20 per stream
(5 CREATING at once), names unique per stream; a deregistered consumer ends the
subscription. Records carry the stream's ARN as ``eventSourceARN``, as Kinesis records do.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from shardline.local.efo_subscription import PUSH_LATENCY_S, SUBSCRIPTION_LIFETIME_S
from shardline.local.embedded_consumers import CONSUMER_ACTIVATION_S
from shardline.local.read_budget import READ_BYTES_PER_S
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
    # handler fails once (the consumer registered a second earlier, so it is ACTIVE)
    harness.clock.advance_to(T0 - CONSUMER_ACTIVATION_S)
    stream = harness.stream("telemetry")
    consumer_arn = harness.stream_consumer(stream, "fan-out")
    harness.clock.advance_to(T0)
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
    # AND the EFO mapping had them pushed 70 ms after they arrived, the shared one read
    # them at its next poll, a second after the mapping started
    first = {}
    for invocation in harness.engine.invocation_log:
        first.setdefault(invocation.function.rsplit(":", 1)[-1], round(invocation.at - T0, 3))
    assert first == {"fanout": 0.32, "shared": 1.0}
    # AND the records name the stream
    records = harness.seen("fanout")[0]["Records"]
    assert {r["eventSourceARN"] for r in records} == {stream}
    # AND each mapping checkpointed on its own
    checkpoints = {c.mapping.source_arn: c.checkpoint for c in harness.engine.consumers()}
    assert checkpoints[stream] == checkpoints[consumer_arn] is not None


def _active_consumer(harness: Harness, stream: str, name: str) -> str:
    """Register a consumer and let it become ACTIVE; the clock then stands at T0."""
    harness.clock.advance_to(T0 - CONSUMER_ACTIVATION_S)
    arn = harness.stream_consumer(stream, name)
    harness.clock.advance_to(T0)
    return arn


def _first_invocations(harness: Harness) -> dict[str, float]:
    first: dict[str, float] = {}
    for invocation in harness.engine.invocation_log:
        first.setdefault(invocation.function.rsplit(":", 1)[-1], round(invocation.at - T0, 3))
    return first


def _efo_reader(harness: Harness, consumer_arn: str) -> Any:
    (consumer,) = [c for c in harness.engine.consumers()
                   if c.mapping.source_arn == consumer_arn]
    return consumer.reader


def test_records_are_pushed_70_ms_after_they_arrive_not_at_a_poll(harness: Harness) -> None:
    # GIVEN an EFO mapping and a shared-throughput mapping, running for a while
    stream = harness.stream("telemetry")
    consumer_arn = _active_consumer(harness, stream, "fan-out")
    harness.function("shared", RECORD)
    harness.function("fanout", RECORD)
    harness.map(stream, "shared")
    harness.map(consumer_arn, "fanout")
    harness.start()
    harness.advance(3.6)

    # WHEN a record arrives between two polls of the shared mapping
    harness.put(stream, ["late"])
    harness.advance(2)

    # THEN the EFO mapping is invoked 70 ms after the record arrived, the shared mapping
    # only at its next one-second poll
    assert _first_invocations(harness) == {"fanout": round(3.6 + PUSH_LATENCY_S, 3),
                                           "shared": 4.0}


# A record of 512 KiB counting its partition key ("pk"): four make one second of budget.
BIG = "x" * (512 * 1024 - 2)


def _times(harness: Harness, function: str) -> list[tuple[float, int]]:
    return [(round(i.at - T0, 3), i.batch_size) for i in harness.engine.invocation_log
            if i.function.rsplit(":", 1)[-1] == function]


def test_each_consumer_reads_2_mib_per_second_independently_of_shared_readers(
        harness: Harness) -> None:
    # GIVEN two EFO mappings (each on its own consumer) and two shared-throughput
    # mappings on a one-shard stream
    stream = harness.stream("telemetry")
    harness.clock.advance_to(T0 - CONSUMER_ACTIVATION_S)
    consumers = [harness.stream_consumer(stream, name) for name in ("fan-out", "audit")]
    harness.clock.advance_to(T0)
    for name in ("fanout", "audit", "shared-a", "shared-b"):
        harness.function(name, RECORD)
    harness.map(consumers[0], "fanout", BatchSize=100)
    harness.map(consumers[1], "audit", BatchSize=100)
    harness.map(stream, "shared-a", BatchSize=100)
    harness.map(stream, "shared-b", BatchSize=100)
    harness.start()

    # WHEN 6 MiB arrive at once (twelve records of 512 KiB)
    harness.advance(0.25)
    harness.put(stream, [BIG] * 12)
    harness.advance(6)

    # THEN the EFO mapping gets its own 2 MiB/s: 2 MiB at once (the budget was full),
    # then one 512 KiB record every quarter second, the last two seconds later
    efo = _times(harness, "fanout")
    assert efo[0] == (0.32, 4)
    assert sum(size for _, size in efo) == 12
    assert efo[-1][0] == round(0.32 + 8 * 512 * 1024 / READ_BYTES_PER_S, 3)
    # AND the other consumer's mapping got the same, unaffected by the first
    assert _times(harness, "audit") == efo
    # AND the shared mappings share the shard's 2 MiB/s: the first poll reads all 6 MiB
    # in one call (≤10 MiB per call), which overdraws the shard for two more seconds, so
    # the other mapping's polls are refused until then — the EFO reads took nothing
    # from them, nor they from the EFO mapping
    # (each mapping's records then go in batches under Lambda's 6 MB payload limit)
    shared = {name: (_times(harness, name)[0][0], sum(n for _, n in _times(harness, name)))
              for name in ("shared-a", "shared-b")}
    assert sorted(shared.values()) == [(1.0, 12), (4.0, 12)]


def test_a_subscription_is_renewed_every_5_minutes_without_loss_or_duplication(
        harness: Harness) -> None:
    # GIVEN an EFO mapping receiving a record every 20 seconds
    stream = harness.stream("telemetry")
    consumer_arn = _active_consumer(harness, stream, "fan-out")
    harness.function("fanout", RECORD)
    harness.map(consumer_arn, "fanout", BatchSize=100)
    harness.engine.discovery_interval_s = 60.0  # nothing changes: spare 180 passes
    harness.start()
    sent: list[str] = []

    # WHEN that goes on for 6 minutes, one record landing 30 ms before the first
    # subscription ends (still in flight when it ends)
    for index in range(18):
        harness.advance(20 if index != 14 else 20 - 0.03)
        sent.append(f"r{index}")
        harness.put(stream, [sent[-1]])
        if index == 14:
            harness.advance(0.03)

    harness.advance(1)

    # THEN the subscription was renewed after 5 minutes, after the sequence number of
    # the last record pushed before it
    reader = _efo_reader(harness, consumer_arn)
    starts = [round(s.started_at - T0, 3) for s in reader.subscriptions]
    assert starts == [0.0, SUBSCRIPTION_LIFETIME_S]
    pushed_before = [r["kinesis"]["sequenceNumber"] for event in harness.seen("fanout")
                     for r in event["Records"]][13]
    assert reader.subscriptions[1].continued_after == pushed_before
    # AND the last event's ContinuationSequenceNumber is the last record's, caught up
    assert reader.continuation_sequence_number == harness.seen("fanout")[-1]["Records"][-1][
        "kinesis"]["sequenceNumber"]
    assert reader.millis_behind_latest == 0
    # AND every record reached the handler once, in order
    got = [decode(r) for event in harness.seen("fanout") for r in event["Records"]]
    assert got == sent
    # AND the record that was in flight at the renewal came with the new subscription
    late = [i for i in harness.engine.invocation_log if i.batch_size and
            round(i.at - T0, 3) == round(SUBSCRIPTION_LIFETIME_S + 0.04, 3)]
    assert len(late) == 1


def test_a_consumer_is_creating_before_active_and_only_then_pushes(harness: Harness) -> None:
    # GIVEN a consumer registered just now, and a mapping on it
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    consumer_arn = harness.stream_consumer(stream, "fan-out")
    kinesis = harness.client("kinesis")
    status = kinesis.describe_stream_consumer(ConsumerARN=consumer_arn)
    harness.function("fanout", RECORD)
    harness.map(consumer_arn, "fanout")
    harness.start()

    # WHEN a record arrives while the consumer is still CREATING
    harness.put(stream, ["early"])
    harness.advance(2)

    # THEN the consumer was CREATING, SubscribeToShard was refused (ResourceInUse)
    # and tried again a second later, once the consumer was ACTIVE
    assert status["ConsumerDescription"]["ConsumerStatus"] == "CREATING"
    assert kinesis.describe_stream_consumer(ConsumerARN=consumer_arn)[
        "ConsumerDescription"]["ConsumerStatus"] == "ACTIVE"
    reader = _efo_reader(harness, consumer_arn)
    assert [(round(at - T0, 3), code) for at, code in reader.refusals] == [
        (0.0, "ResourceInUseException")]
    assert _first_invocations(harness) == {"fanout": CONSUMER_ACTIVATION_S}


def _register(kinesis: Any, stream: str, name: str) -> str:
    try:
        kinesis.register_stream_consumer(StreamARN=stream, ConsumerName=name)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


def test_consumer_limits_and_unique_names_per_stream(harness: Harness) -> None:
    # GIVEN a stream
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    other = harness.stream("other")
    # (botocore would retry LimitExceededException, sleeping; the test wants the answer)
    kinesis = boto3.client("kinesis", endpoint_url=harness.aws.endpoint_url,
                           region_name="us-east-1", aws_access_key_id="test",
                           aws_secret_access_key="test",
                           config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    # WHEN consumers are registered: six at once, then up to 21 as they become ACTIVE,
    # and a name used twice
    burst = [_register(kinesis, stream, f"c{i}") for i in range(6)]
    harness.advance(CONSUMER_ACTIVATION_S)
    rest = []
    for i in range(5, 21):
        rest.append(_register(kinesis, stream, f"c{i}"))
        harness.advance(CONSUMER_ACTIVATION_S)
    duplicate = _register(kinesis, stream, "c0")

    # THEN no more than 5 may be CREATING at once, at most 20 per stream
    # (LimitExceededException), and a name is unique per stream (ResourceInUseException)
    # but not across streams
    assert burst == ["ok"] * 5 + ["LimitExceededException"]
    assert rest == ["ok"] * 15 + ["LimitExceededException"]
    assert duplicate == "ResourceInUseException"
    assert _register(kinesis, other, "c0") == "ok"


def test_a_deregistered_consumer_ends_the_subscription_and_the_mapping_reports_it(
        harness: Harness) -> None:
    # GIVEN an EFO mapping that has received a record
    stream = harness.stream("telemetry")
    consumer_arn = _active_consumer(harness, stream, "fan-out")
    harness.function("fanout", RECORD)
    uuid = harness.map(consumer_arn, "fanout")
    harness.start()
    harness.put(stream, ["before"])
    harness.advance(1)

    # WHEN its consumer is deregistered and more records arrive
    harness.client("kinesis").deregister_stream_consumer(ConsumerARN=consumer_arn)
    harness.put(stream, ["after"])
    harness.advance(5)

    # THEN nothing more is pushed, and the mapping says why
    got = [decode(r) for event in harness.seen("fanout") for r in event["Records"]]
    assert got == ["before"]
    result = harness.client("lambda").get_event_source_mapping(UUID=uuid)
    assert result["LastProcessingResult"].startswith("PROBLEM: ResourceNotFoundException")


@pytest.mark.parametrize("by", ["ConsumerName", "ConsumerARN"])
def test_deregistering_one_consumer_keeps_the_others(harness: Harness, by: str) -> None:
    # GIVEN a stream with two consumers
    stream = harness.stream("telemetry")
    first = harness.stream_consumer(stream, "first")
    harness.stream_consumer(stream, "second")

    # WHEN the first is deregistered, by name or by ARN
    kinesis = harness.client("kinesis")
    target = ({"StreamARN": stream, "ConsumerName": "first"} if by == "ConsumerName"
              else {"ConsumerARN": first})
    kinesis.deregister_stream_consumer(**target)

    # THEN only the second remains
    names = [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=stream)
             ["Consumers"]]
    assert names == ["second"]
