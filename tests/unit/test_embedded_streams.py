"""The embedded AWS's DynamoDB streams (moto patched): concurrent writes, and state kept
bounded as AWS bounds it."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from lambdas.shared.dynamo import batch_write
from shardline.local import embedded_streams
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


def _table_stream(embedded_aws: EmbeddedAws, prefix: str) -> tuple[Any, Any, str, str]:
    """A fresh aggregates table with a stream: (dynamodb, dynamodbstreams, table, shard)."""
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    streams = boto3.client("dynamodbstreams", endpoint_url=embedded_aws.endpoint_url)
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    create_aggregates_table(client, name)
    stream_arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    return client, streams, stream_arn, shard["ShardId"]


def _streams_backend() -> Any:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    return dynamodbstreams_backends["123456789012"]["us-east-1"]


def test_dynamodb_shard_iterators_expire_after_15_minutes(
        embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a table stream holding one record and an iterator at its start, on a clock
    # the test moves
    clock = [float(int(time.monotonic()))]  # whole seconds: sums stay exact
    monkeypatch.setattr(embedded_streams, "now", lambda: clock[0])
    client, streams, stream_arn, shard_id = _table_stream(embedded_aws, "iterator-expiry")
    client.put_item(TableName=stream_arn.split("/")[1], Item={"PK": {"S": "a"}, "SK": {"S": "1"}})
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    # WHEN it is used just before 15 minutes have passed, and again at 15 minutes
    clock[0] += 15 * 60 - 1
    early = streams.get_records(ShardIterator=iterator)
    clock[0] += 1

    # THEN it still reads the record first, then is refused as expired, as AWS does
    assert len(early["Records"]) == 1
    with pytest.raises(streams.exceptions.ExpiredIteratorException):
        streams.get_records(ShardIterator=iterator)
    # AND the iterator the first read returned is still good (it is younger)
    assert streams.get_records(ShardIterator=early["NextShardIterator"])["Records"] == []


def test_polling_a_dynamodb_stream_for_hours_keeps_15_minutes_of_iterators(
        embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a table stream polled as Lambda polls it (four reads a second), on a clock
    # the test moves
    clock = [float(int(time.monotonic())) + 3_600]
    monkeypatch.setattr(embedded_streams, "now", lambda: clock[0])
    _client, streams, stream_arn, shard_id = _table_stream(embedded_aws, "iterator-growth")
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id,
                                          ShardIteratorType="LATEST")["ShardIterator"]
    held_before = len(_streams_backend().shard_iterators)

    # WHEN it is polled 600 times over what amounts to two hours (12 s apart)
    for _ in range(600):
        clock[0] += 12
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]

    # THEN the embedded AWS holds only the iterators of the last 15 minutes (75 of the
    # 600 it returned), not every one it ever handed out
    held = len(_streams_backend().shard_iterators)
    assert held <= 15 * 60 / 12 + 1
    assert held < held_before + 600


def test_kinesis_records_past_the_retention_period_are_trimmed(
        embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a one-shard stream (24-hour retention) holding three records
    kinesis = boto3.client("kinesis", endpoint_url=embedded_aws.endpoint_url)
    name = f"retention-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    old = [kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"old")["SequenceNumber"]
           for _ in range(3)]

    # WHEN a record is put once those are older than 24 hours (the clock trimming reads
    # is moved a day ahead of the moment between the old records and the new one)
    between = time.time()
    time.sleep(0.01)
    monkeypatch.setattr(embedded_streams, "wall_clock", lambda: between + 24 * 3600)
    new = kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"new")["SequenceNumber"]

    # THEN the stream holds only the new record, numbered after the trimmed ones, and the
    # shard's range starts at it; a reader at TRIM_HORIZON or after a trimmed record gets it
    assert int(new) > max(int(n) for n in old)
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]
    assert shard["SequenceNumberRange"]["StartingSequenceNumber"] == new
    for kind, extra in (("TRIM_HORIZON", {}),
                        ("AFTER_SEQUENCE_NUMBER", {"StartingSequenceNumber": old[0]})):
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                              ShardIteratorType=kind, **extra)["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator)["Records"]
        assert [(r["SequenceNumber"], r["Data"]) for r in records] == [(new, b"new")]


def test_kinesis_reads_page_through_a_shard_in_order(embedded_aws: EmbeddedAws) -> None:
    # GIVEN a one-shard stream holding 2,500 records
    kinesis = boto3.client("kinesis", endpoint_url=embedded_aws.endpoint_url)
    name = f"paging-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    for start in range(0, 2500, 500):
        kinesis.put_records(StreamName=name, Records=[
            {"PartitionKey": "k", "Data": str(i).encode()} for i in range(start, start + 500)])
    shard_id = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]

    # WHEN a reader pages through it 1,000 records at a time, then reads at the tip
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    pages: list[list[bytes]] = []
    behind: list[int] = []
    while True:
        page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
        iterator = page["NextShardIterator"]
        if not page["Records"]:
            break
        pages.append([r["Data"] for r in page["Records"]])
        behind.append(page["MillisBehindLatest"])

    # THEN it gets every record once, in order, in pages of at most 1,000, and the last page
    # is at the tip
    assert [len(p) for p in pages] == [1000, 1000, 500]
    assert [d for p in pages for d in p] == [str(i).encode() for i in range(2500)]
    assert behind[-1] == 0


def test_a_query_on_the_table_key_reads_only_its_partition(
        embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a table of 40 partitions of 50 items each
    from moto.dynamodb.models.table import Table

    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    name = f"partitions-{uuid.uuid4().hex[:8]}"
    create_aggregates_table(client, name)
    batch_write(client, name, [{"PK": f"p{p:02d}", "SK": f"{i:03d}", "n": i}
                               for p in range(40) for i in range(50)])
    handed: list[int] = []
    all_items = Table.all_items
    monkeypatch.setattr(Table, "all_items",
                        lambda self: handed.append(len(result := all_items(self))) or result)

    # WHEN one partition is queried, forwards in pages and backwards over a key range
    pages: list[str] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = client.query(TableName=name, KeyConditionExpression="PK = :p",
                            ExpressionAttributeValues={":p": {"S": "p07"}}, Limit=20, **kwargs)
        pages += [item["SK"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    backwards = client.query(
        TableName=name, KeyConditionExpression="PK = :p AND SK BETWEEN :a AND :b",
        ExpressionAttributeValues={":p": {"S": "p07"}, ":a": {"S": "010"}, ":b": {"S": "013"}},
        ScanIndexForward=False)["Items"]

    # THEN the answers are DynamoDB's (every item once, in key order; the range reversed)
    assert pages == [f"{i:03d}" for i in range(50)]
    assert [item["SK"]["S"] for item in backwards] == ["013", "012", "011", "010"]
    # AND each query was handed the partition's 50 items, never the table's 2,000
    assert handed and max(handed) == 50



def test_a_query_reads_only_the_items_its_sort_key_condition_matches(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN a partition holding two 350 KB items under "B#" and a third after them, "C#"
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    name = f"page-{uuid.uuid4().hex[:8]}"
    create_aggregates_table(client, name)
    padding = "x" * 350_000
    batch_write(client, name, [{"PK": "dev", "SK": sk, "pad": padding}
                               for sk in ("B#1", "B#2", "C#1")])

    # WHEN the "B#" items are queried
    page = client.query(TableName=name,
                        KeyConditionExpression="PK = :p AND begins_with(SK, :b)",
                        ExpressionAttributeValues={":p": {"S": "dev"}, ":b": {"S": "B#"}})

    # THEN one page holds both, and says there is no more: DynamoDB's 1 MB counts the
    # items the key condition matches (moto counted "C#1" too, and ended the page there)
    assert [item["SK"]["S"] for item in page["Items"]] == ["B#1", "B#2"]
    assert "LastEvaluatedKey" not in page

def test_dynamodb_stream_records_older_than_24_hours_are_trimmed(
        embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a table stream holding three records, and a reader positioned at its start
    client, streams, stream_arn, shard_id = _table_stream(embedded_aws, "stream-trim")
    table = stream_arn.split("/")[1]
    for n in range(3):
        client.put_item(TableName=table, Item={"PK": {"S": "old"}, "SK": {"S": str(n)}})
    positioned = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id,
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    # WHEN a write lands once those are older than 24 hours (the clock trimming reads is
    # moved a day ahead of the moment between the old writes and the new one)
    between = time.time()
    time.sleep(0.01)
    monkeypatch.setattr(embedded_streams, "wall_clock", lambda: between + 24 * 3600)
    client.put_item(TableName=table, Item={"PK": {"S": "new"}, "SK": {"S": "0"}})

    # THEN a new reader at TRIM_HORIZON and the one positioned before the trim both get the
    # new record alone, numbered after the trimmed ones
    fresh = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id,
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for iterator in (fresh, positioned):
        records = streams.get_records(ShardIterator=iterator)["Records"]
        assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in records] == ["new"]
    # AND the trimmed records no longer take memory in the embedded AWS
    from moto.dynamodb.models import dynamodb_backends

    items = dynamodb_backends["123456789012"]["us-east-1"].tables[table].stream_shard.items
    assert items[:3] == [None, None, None]
