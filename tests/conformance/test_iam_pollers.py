"""Lambda's pollers read with the function's execution role (IAM enforced on request):
a role that may not read its source makes the mapping stall, not skip, and say why."""

from __future__ import annotations

import pytest

from shardline.local.stream_consumer import ShardConsumer
from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0
RECORD = """
def lambda_handler(event, context):
    seen(event)
    return {}
"""
READ = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards",
        "kinesis:GetShardIterator", "kinesis:GetRecords"]


@pytest.fixture
def harness(iam_harness: Harness) -> Harness:
    return iam_harness


def _delivered(harness: Harness) -> list[str]:
    return [decode(r) for event in harness.seen("sink") for r in event["Records"]]


def test_a_role_without_get_records_stalls_the_shard_until_granted(harness: Harness) -> None:
    # GIVEN a mapping whose function's role may open the shard but not read it
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)
    harness.grant({"Effect": "Allow", "Action": READ[:-1], "Resource": stream})
    uuid = harness.map(stream, "sink")
    harness.start()
    harness.put(stream, ["1", "2"])

    # WHEN the poller runs
    harness.advance(3)

    # THEN nothing is delivered, nothing skipped, and the mapping says why
    assert _delivered(harness) == []
    consumer = next(c for c in harness.engine.consumers() if isinstance(c, ShardConsumer))
    assert consumer.checkpoint is None
    assert "kinesis:GetRecords" in str(consumer.access.reason)
    result = harness.client("lambda").get_event_source_mapping(UUID=uuid)
    assert result["LastProcessingResult"].startswith("PROBLEM: AccessDeniedException")

    # AND once granted, the records arrive in order
    harness.grant({"Effect": "Allow", "Action": READ, "Resource": stream})
    harness.advance(2)
    assert _delivered(harness) == ["1", "2"]
    assert consumer.access.reason is None


def test_a_role_that_cannot_open_its_shard_is_retried_at_discovery(harness: Harness) -> None:
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)
    uuid = harness.map(stream, "sink")
    harness.start()
    harness.put(stream, ["1"])
    harness.advance(3)
    assert _delivered(harness) == []
    assert any(key[0] == uuid for key in harness.engine.blocked)

    harness.grant({"Effect": "Allow", "Action": READ, "Resource": stream})
    harness.advance(5)
    assert _delivered(harness) == ["1"]
    assert not harness.engine.blocked
