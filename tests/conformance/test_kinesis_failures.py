"""Kinesis mappings under function errors: bisect, retries, on-failure destination,
partial batch responses (AWS-SEMANTICS.md, "Lambda event source mappings for streams")."""

from __future__ import annotations

from tests.conformance.harness import Harness

POISON_AT_5 = """
def lambda_handler(event, context):
    seen(event)
    if "5" in payloads(event):
        raise ValueError("poison record 5")
    return {}
"""


def test_bisect_isolates_a_poison_record_then_the_shard_moves_on(harness: Harness) -> None:
    # GIVEN 8 records where record 5 always crashes the handler, bisect on, 2 retries,
    # and an on-failure destination
    stream = harness.stream("telemetry")
    queue_url, queue_arn = harness.queue("failures")
    harness.function("poison", POISON_AT_5)
    harness.map(stream, "poison", BatchSize=8, BisectBatchOnFunctionError=True,
                MaximumRetryAttempts=2,
                DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    sequence_numbers = harness.put(stream, [str(i) for i in range(1, 9)])

    # WHEN the engine runs for a while
    harness.start()
    harness.advance(120)

    # THEN the handler saw the documented halves, the poison record alone until its
    # retries ran out, then the rest of the shard
    from tests.conformance.harness import decode

    batches = [[decode(r) for r in event["Records"]] for event in harness.seen("poison")]
    assert batches == [
        ["1", "2", "3", "4", "5", "6", "7", "8"],
        ["1", "2", "3", "4"],
        ["5", "6", "7", "8"],
        ["5", "6"],
        ["5"], ["5"], ["5"],  # first attempt + 2 retries; splitting used none of them
        ["6"],
        ["7", "8"],
    ]
    # AND the destination got one record naming that shard and that sequence number
    (failure,) = harness.messages(queue_url)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"].endswith(":function:poison")
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                          "functionError": "Unhandled"}
    assert failure["version"] == "1.0"
    info = failure["KinesisBatchInfo"]
    assert info["shardId"] == "shardId-000000000000"
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence_numbers[4]
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream
