"""What the embedded AWS (moto patched) holds per object: objects nobody holds are freed,
and DynamoDB stream records are held packed yet read back as moto built them."""

from __future__ import annotations

import base64
import gc
import uuid
import weakref
from datetime import UTC
from typing import Any

import boto3

from shardline.local.embedded import LOCAL_ACCOUNT_ID, LOCAL_REGION, EmbeddedAws
from shardline.local.embedded_memory import WeakInstances
from tests.factories.dynamodb import create_aggregates_table


def _aggregates_table(embedded_aws: EmbeddedAws, prefix: str) -> tuple[Any, str, Any]:
    """A fresh aggregates table (stream of new and old images): client, name, moto's table."""
    from moto.dynamodb.models import dynamodb_backends

    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    name = create_aggregates_table(client, f"{prefix}-{uuid.uuid4().hex[:8]}")
    return client, name, dynamodb_backends[LOCAL_ACCOUNT_ID][LOCAL_REGION].tables[name]


def _stored_item(table: Any, pk: str, sk: str) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return table.get_item(DynamoType({"S": pk}), DynamoType({"S": sk}))


def _stream_records(embedded_aws: EmbeddedAws, client: Any, name: str) -> list[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams", endpoint_url=embedded_aws.endpoint_url)
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]  # type: ignore[no-any-return]


def test_an_item_replaced_by_a_write_is_freed(embedded_aws: EmbeddedAws) -> None:
    # GIVEN an item moto holds
    client, name, table = _aggregates_table(embedded_aws, "memory-replaced")
    client.put_item(TableName=name, Item={"PK": {"S": "a"}, "SK": {"S": "1"},
                                          "n": {"N": "1"}})
    replaced = weakref.ref(_stored_item(table, "a", "1"))

    # WHEN a put replaces it and an update changes the new one (moto copies it to do so)
    client.put_item(TableName=name, Item={"PK": {"S": "a"}, "SK": {"S": "1"},
                                          "n": {"N": "2"}})
    client.update_item(TableName=name, Key={"PK": {"S": "a"}, "SK": {"S": "1"}},
                       UpdateExpression="SET n = :n", ExpressionAttributeValues={
                           ":n": {"N": "3"}})
    gc.collect()

    # THEN the replaced item is gone from memory, while moto's dashboard list of live items
    # still holds the current one
    from moto.dynamodb.models.dynamo_type import Item

    assert replaced() is None
    current = _stored_item(table, "a", "1")
    assert current.attrs["n"].value == "3"
    assert any(instance is current for instance in Item.instances_tracked)


def test_stream_records_read_back_with_the_images_written(embedded_aws: EmbeddedAws) -> None:
    # GIVEN a table whose stream carries new and old images
    client, name, _ = _aggregates_table(embedded_aws, "memory-images")
    key = {"PK": {"S": "DM#dev-1#temperature_c"}, "SK": {"S": "T#2026-05-09T10:00"}}
    first = {**key, "sum": {"N": "21.4"}, "tags": {"SS": ["a", "b"]},
             "stats": {"M": {"count": {"N": "2"}, "raw": {"B": b"\x00\x01"}}}}
    second = {**key, "sum": {"N": "42.8"}, "partials": {"L": [{"N": "1"}, {"S": "x"}]}}

    # WHEN an item is inserted, replaced and deleted
    client.put_item(TableName=name, Item=first)
    client.put_item(TableName=name, Item=second)
    client.delete_item(TableName=name, Key=key)

    # THEN its three stream records carry the keys and exactly the images AWS documents
    records = _stream_records(embedded_aws, client, name)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert [r["dynamodb"]["Keys"] for r in records] == [key, key, key]
    assert records[0]["dynamodb"]["NewImage"] == first
    assert "OldImage" not in records[0]["dynamodb"]
    assert (records[1]["dynamodb"]["OldImage"], records[1]["dynamodb"]["NewImage"]) == (
        first, second)
    assert records[2]["dynamodb"]["OldImage"] == second
    assert "NewImage" not in records[2]["dynamodb"]


def test_a_stream_record_is_packed_once_built_and_unpacks_equal_to_it(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN a table with a stream of new and old images, and an item before and after
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import StreamRecord

    _, _, table = _aggregates_table(embedded_aws, "memory-packed")
    before = {"PK": {"S": "a"}, "SK": {"S": "1"}, "site": {"S": "plant-a"},
              "sum": {"N": "12.5"}}
    after = {**before, "sum": {"N": "13"}}
    old, new = (Item(DynamoType(before["PK"]), DynamoType(before["SK"]), attrs)
                for attrs in (before, after))

    # WHEN moto builds the MODIFY record
    record = StreamRecord(table, "NEW_AND_OLD_IMAGES", "MODIFY", old, new, 7)

    # THEN it holds bytes, not the record's dicts, and reading it gives the full record,
    # a fresh copy each time (a reader cannot change what the next one reads)
    assert "record" not in vars(record) and isinstance(record._packed, bytes)
    unpacked = record.to_json()
    assert unpacked["eventName"] == "MODIFY"
    assert unpacked["dynamodb"]["Keys"] == {"PK": {"S": "a"}, "SK": {"S": "1"}}
    assert unpacked["dynamodb"]["OldImage"] == before
    assert unpacked["dynamodb"]["NewImage"] == after
    assert unpacked["dynamodb"]["SequenceNumber"] == "7"
    assert unpacked["dynamodb"]["SizeBytes"] > 0
    created = unpacked["dynamodb"]["ApproximateCreationDateTime"]
    assert record.created_at == created.replace(tzinfo=UTC).timestamp()
    unpacked["dynamodb"]["NewImage"]["sum"] = {"N": "0"}
    assert record.to_json()["dynamodb"]["NewImage"]["sum"] == {"N": "13"}
    assert len(record._packed) < 1024


def test_weak_instances_list_the_live_ones_and_stay_proportional_to_them() -> None:
    # GIVEN a tracker of 1,000 objects of which 10 are still held
    class Model:
        pass

    held = [Model() for _ in range(10)]
    tracked = WeakInstances(held)
    for _ in range(990):
        tracked.append(Model())  # dropped at once

    # WHEN it is iterated
    listed = list(tracked)

    # THEN it yields exactly the live objects, and holds references to a bounded number
    assert len(listed) == 10 and all(any(a is b for b in held) for a in listed)
    assert len(tracked._refs) <= 2 * 64


def test_kinesis_records_keep_their_data_compressed_and_read_back_exactly(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN a stream, a record of every byte value and a KPL-sized record of JSON readings
    from moto.kinesis.models import kinesis_backends

    kinesis = boto3.client("kinesis", endpoint_url=embedded_aws.endpoint_url)
    name = f"memory-kinesis-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    every_byte = bytes(range(256))
    readings = b"".join(b'{"v":1,"device_id":"dev-%05d","site":"plant-a","ts":%d,'
                        b'"metrics":{"temperature_c":21.4}}' % (n, 1763900000123 + n)
                        for n in range(50))

    # WHEN both are put
    for data in (every_byte, readings, b"x"):
        kinesis.put_record(StreamName=name, PartitionKey="k", Data=data)

    # THEN GetRecords returns the data exactly, moto's base64 view of it is unchanged, and
    # it holds the readings in far fewer bytes than that text
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [
        every_byte, readings, b"x"]
    stream = kinesis_backends[LOCAL_ACCOUNT_ID][LOCAL_REGION].streams[name]
    held = list(next(iter(stream.shards.values())).records.values())
    assert base64.b64decode(held[1].data) == readings
    assert len(held[1]._packed_data) * 3 < len(readings)
