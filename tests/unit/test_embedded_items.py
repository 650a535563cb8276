"""DynamoDB items held packed by the embedded AWS between requests: every type reads back
as written, updates are never lost, and an index Query finds what it found before."""

from __future__ import annotations

import copy
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from lambdas.shared.aggregates import HOUR_INDEX_NAME
from lambdas.shared.dynamo import batch_write
from shardline.local.embedded import LOCAL_ACCOUNT_ID, LOCAL_REGION, EmbeddedAws
from shardline.local.embedded_item_store import StoredRow
from shardline.local.embedded_items import pack_attributes, unpack_attributes
from tests.factories.dynamodb import create_aggregates_table

EVERY_TYPE = {
    "PK": {"S": "DM#dev-1#temperature_c"}, "SK": {"S": "T#2026-05-09T10:00"},
    "sum": {"N": "21.40"}, "raw": {"B": b"\x00\xff"}, "tags": {"SS": ["a", "b"]},
    "counts": {"NS": ["1", "2.5"]}, "blobs": {"BS": [b"\x01", b"\x02"]},
    "ok": {"BOOL": True}, "none": {"NULL": True},
    "nested": {"M": {"list": {"L": [{"N": "1"}, {"S": "x"}, {"M": {"deep": {"S": "y"}}}]},
                     "flag": {"BOOL": False}}},
}


def _table(embedded_aws: EmbeddedAws, prefix: str) -> tuple[Any, str, Any]:
    """A fresh aggregates table: client, name, moto's table."""
    from moto.dynamodb.models import dynamodb_backends

    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    name = create_aggregates_table(client, f"{prefix}-{uuid.uuid4().hex[:8]}")
    return client, name, dynamodb_backends[LOCAL_ACCOUNT_ID][LOCAL_REGION].tables[name]


def _at_rest(table: Any) -> list[Any]:
    return [item for partition in list(table.items.values()) for item in partition.values()]


def test_an_item_of_every_type_is_held_packed_and_reads_back_as_written(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN an item with every attribute type DynamoDB has
    client, name, table = _table(embedded_aws, "items-types")

    # WHEN it is written and its request has ended
    client.put_item(TableName=name, Item=EVERY_TYPE)

    # THEN moto holds only its keys and the id of its row on disk, and GetItem returns it
    # exactly
    [stored] = _at_rest(table)
    assert stored._attrs is None and isinstance(stored._row, StoredRow)
    assert {name for name, value in vars(stored).items() if value is not None} == {
        "hash_key", "range_key", "_row"}
    key = {"PK": EVERY_TYPE["PK"], "SK": EVERY_TYPE["SK"]}
    assert client.get_item(TableName=name, Key=key)["Item"] == EVERY_TYPE
    # AND reading it left it packed
    assert stored._attrs is None


def test_packed_attributes_unpack_equal_to_moto_s_own() -> None:
    # GIVEN moto's attributes for an item of every type
    from moto.dynamodb.models.dynamo_type import Item

    item = Item(None, None, EVERY_TYPE)  # type: ignore[arg-type]
    attrs = dict(item.attrs)

    # WHEN they are packed and unpacked
    packed = pack_attributes(attrs)
    unpacked = unpack_attributes(packed)

    # THEN they are equal, attribute by attribute and in moto's JSON, and smaller
    assert unpacked == attrs
    assert {k: v.to_json() for k, v in unpacked.items()} == {
        k: v.to_json() for k, v in attrs.items()}
    assert len(packed) < 400


def test_updates_change_the_stored_item_and_its_stream_images(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN a stored item
    client, name, _ = _table(embedded_aws, "items-update")
    key = {"PK": {"S": "a"}, "SK": {"S": "1"}}
    client.put_item(TableName=name, Item={**key, "n": {"N": "1"},
                                          "m": {"M": {"x": {"S": "old"}}}, "gone": {"S": "g"}})

    # WHEN it is updated in place (ADD, SET inside a map, REMOVE)
    client.update_item(TableName=name, Key=key,
                       UpdateExpression="ADD n :one SET m.x = :new REMOVE gone",
                       ExpressionAttributeValues={":one": {"N": "1"}, ":new": {"S": "new"}})

    # THEN the next request reads the new item, and the stream has both images
    assert client.get_item(TableName=name, Key=key)["Item"] == {
        **key, "n": {"N": "2"}, "m": {"M": {"x": {"S": "new"}}}}
    streams = boto3.client("dynamodbstreams", endpoint_url=embedded_aws.endpoint_url)
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    modify = streams.get_records(ShardIterator=iterator)["Records"][-1]["dynamodb"]
    assert modify["OldImage"]["n"] == {"N": "1"} and modify["OldImage"]["gone"] == {"S": "g"}
    assert modify["NewImage"] == {**key, "n": {"N": "2"}, "m": {"M": {"x": {"S": "new"}}}}


def test_concurrent_updates_of_one_item_are_never_lost(embedded_aws: EmbeddedAws) -> None:
    # GIVEN a counter item, read by other requests while it is updated
    client, name, _ = _table(embedded_aws, "items-concurrent")
    key = {"PK": {"S": "counter"}, "SK": {"S": "0"}}
    client.put_item(TableName=name, Item={**key, "n": {"N": "0"}})

    # WHEN eight writers add 1 forty times each while readers read it
    def add(_: int) -> None:
        for _ in range(40):
            client.update_item(TableName=name, Key=key, UpdateExpression="ADD n :one",
                               ExpressionAttributeValues={":one": {"N": "1"}})
            client.get_item(TableName=name, Key=key)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, range(8)))

    # THEN every addition counted
    assert client.get_item(TableName=name, Key=key)["Item"]["n"] == {"N": "320"}


def test_a_scan_never_sees_an_item_an_update_is_still_writing(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN items created by UpdateItem with several attributes (moto stores the keys
    # first and then sets the attributes), while other requests scan the table
    client, name, _ = _table(embedded_aws, "items-atomic")
    done = False

    def create() -> None:
        for n in range(40):
            client.update_item(
                TableName=name, Key={"PK": {"S": f"d{n}"}, "SK": {"S": "STATE"}},
                UpdateExpression="SET device_id = :d, ts_ms = :t, site = :s",
                ExpressionAttributeValues={":d": {"S": f"d{n}"}, ":t": {"N": str(n)},
                                           ":s": {"S": "plant-a"}})

    def scan() -> list[dict[str, Any]]:
        seen = []
        while not done:
            seen.extend(client.scan(TableName=name, ConsistentRead=True)["Items"])
        return seen

    # WHEN they run side by side
    with ThreadPoolExecutor(max_workers=3) as pool:
        scans = [pool.submit(scan) for _ in range(2)]
        create()
        done = True
        seen = [item for future in scans for item in future.result()]

    # THEN every item any scan returned was whole, as on AWS
    assert seen and all({"device_id", "ts_ms", "site"} <= set(item) for item in seen)


def test_a_copy_of_an_item_at_rest_shares_its_row(embedded_aws: EmbeddedAws) -> None:
    # GIVEN an item at rest
    client, name, table = _table(embedded_aws, "items-copy")
    client.put_item(TableName=name, Item={"PK": {"S": "a"}, "SK": {"S": "1"}, "n": {"N": "7"}})
    [stored] = _at_rest(table)

    # WHEN moto deep-copies it (as UpdateItem does)
    copied = copy.deepcopy(stored)

    # THEN the copy holds the same row, unpacked nowhere, and reads as the original
    assert copied._row is stored._row and copied._attrs is None
    assert copied.attrs == stored.attrs and copied.hash_key == stored.hash_key


@pytest.mark.parametrize("hour", ["H#2026-05-09T10#3", "H#2026-05-09T11#3"])
def test_an_index_query_finds_only_the_items_holding_its_key(
        embedded_aws: EmbeddedAws, hour: str) -> None:
    # GIVEN totals of two hours in the by_hour index, and items that hold an hour's index
    # key as another attribute's value (they must not be found)
    client, name, _ = _table(embedded_aws, "items-index")
    totals = [{"PK": f"DM#dev-{n}#t", "SK": f"T#{h}", "GSI1PK": f"H#2026-05-09T{h}#3",
               "GSI1SK": f"{n:03d}", "kind": "total"} for n in range(30) for h in ("10", "11")]
    decoys = [{"PK": f"DM#dev-{n}#t", "SK": f"P#{n}", "note": hour} for n in range(30)]
    batch_write(client, name, totals + decoys)

    # WHEN one hour's index partition is queried
    found = client.query(TableName=name, IndexName=HOUR_INDEX_NAME,
                         KeyConditionExpression="GSI1PK = :h",
                         ExpressionAttributeValues={":h": {"S": hour}})["Items"]

    # THEN it gets that hour's 30 totals, in index key order, and nothing else
    assert [item["GSI1SK"]["S"] for item in found] == [f"{n:03d}" for n in range(30)]
    assert {item["GSI1PK"]["S"] for item in found} == {hour}
