"""The embedded AWS's DynamoDB streams under concurrent writes (moto patched)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

from lambdas.shared.dynamo import batch_write
from shardline.local.embedded import EmbeddedAws
from tests.factories.dynamodb import create_aggregates_table


def test_concurrent_writes_get_distinct_stream_sequence_numbers(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN a table with a stream
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    streams = boto3.client("dynamodbstreams", endpoint_url=embedded_aws.endpoint_url)
    name = f"stream-race-{uuid.uuid4().hex[:8]}"
    create_aggregates_table(client, name)
    stream_arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]

    # WHEN eight writers each put 200 items at once (parallel BatchWriteItem calls)
    def write(writer: int) -> None:
        batch_write(client, name, [{"PK": f"w{writer}", "SK": f"{i:04d}"} for i in range(200)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(8)))

    # THEN the stream holds 1,600 records with distinct, increasing sequence numbers, and a
    # reader resuming after the last one finds nothing more (no record comes back)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    sequence_numbers: list[int] = []
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            break
        sequence_numbers += [int(r["dynamodb"]["SequenceNumber"]) for r in page["Records"]]
        iterator = page["NextShardIterator"]
    assert len(sequence_numbers) == 1600
    assert sequence_numbers == sorted(set(sequence_numbers))
    resumed = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"],
        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        SequenceNumber=str(sequence_numbers[-1]))["ShardIterator"]
    assert streams.get_records(ShardIterator=resumed)["Records"] == []
