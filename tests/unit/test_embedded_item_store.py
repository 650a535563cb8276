"""DynamoDB items' attributes kept on disk by the embedded AWS: a row reads back as
written, before it is written, from the cache or from the disk; a row no item holds is
deleted (item replaced or deleted, table deleted, backends reset); concurrent updates
lose nothing."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from shardline.local.embedded import LOCAL_ACCOUNT_ID, LOCAL_REGION, EmbeddedAws
from shardline.local.embedded_item_store import ItemStore, StoredRow, item_store
from shardline.local.embedded_spill import SpillDatabase
from tests.factories.dynamodb import create_aggregates_table

OTHER_REGION = "eu-west-3"


def _rows(store: ItemStore) -> set[int]:
    store.flush()
    with store.database.locked() as db:
        return {row for (row,) in db.execute("SELECT id FROM items").fetchall()}


@pytest.fixture
def store(tmp_path: Path) -> ItemStore:
    """A store that writes each new row at once and caches one row."""
    return ItemStore(SpillDatabase(tmp_path / "spill.sqlite"), cache_bytes=64, write_batch=1)


@pytest.fixture
def uncached() -> Iterator[ItemStore]:
    """The process's store writing each new row at once, with no cache: every read of an
    item at rest goes to the disk."""
    store = item_store()
    store.flush()
    kept = store.cache_bytes, store.write_batch
    store.cache_bytes, store.write_batch = 0, 1
    yield store
    store.cache_bytes, store.write_batch = kept


def test_a_row_reads_back_from_the_cache_and_from_the_disk(store: ItemStore) -> None:
    # GIVEN two rows, in a store whose cache holds only the last one
    first, second = store.add(b"a" * 40), store.add(b"b" * 40)

    # WHEN they are read one by one, and together
    # THEN each reads back as written, and both are on disk
    assert isinstance(first, StoredRow) and first != second
    assert store.read(first) == b"a" * 40 and store.read(second) == b"b" * 40
    assert store.read_many([second, first, second]) == {first: b"a" * 40, second: b"b" * 40}
    assert _rows(store) == {first, second}


def test_a_row_is_deleted_when_its_last_holder_lets_go(store: ItemStore) -> None:
    # GIVEN a row held by an item and by a copy of it
    row = store.add(b"packed")
    held_by_copy = row
    number = int(row)

    # WHEN the item lets go of it, then the copy
    del row
    kept = _rows(store)
    del held_by_copy

    # THEN it stays while one holds it, and is deleted after the last
    assert kept == {number}
    assert _rows(store) == set()


def test_new_rows_are_read_before_they_are_written_together(tmp_path: Path) -> None:
    # GIVEN a store writing new rows three at a time
    store = ItemStore(SpillDatabase(tmp_path / "spill.sqlite"), write_batch=3)

    # WHEN two rows are added, one of them let go of, and a third added
    kept, dropped = store.add(b"H#10 kept"), store.add(b"H#10 dropped")
    dropped_number = int(dropped)
    del dropped
    with store.database.locked() as db:
        before = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    pending_found = store.holding([b"H#10"])
    third = store.add(b"third")

    # THEN the rows are read back before any is written, and the batch is written in one
    # go without the row let go of
    assert before == 0 and pending_found == {int(kept), dropped_number}
    assert store.read(kept) == b"H#10 kept"
    assert store.read_many([kept, third]) == {kept: b"H#10 kept", third: b"third"}
    with store.database.locked() as db:
        assert {row for (row,) in db.execute("SELECT id FROM items")} == {kept, third}


def test_rows_holding_every_needle_are_found(store: ItemStore) -> None:
    # GIVEN rows with different values
    hour_10 = store.add(b"H#2026-05-09T10#3 dev-1")
    store.add(b"H#2026-05-09T11#3 dev-1")
    both = store.add(b"H#2026-05-09T10#3 dev-2")

    # WHEN rows holding an hour, and an hour and a device, are asked for
    # THEN exactly the rows holding every value are found
    assert store.holding([b"H#2026-05-09T10#3"]) == {hour_10, both}
    assert store.holding([b"H#2026-05-09T10#3", b"dev-2"]) == {both}


def _table(embedded_aws: EmbeddedAws, region: str = LOCAL_REGION) -> tuple[Any, str, Any]:
    from moto.dynamodb.models import dynamodb_backends

    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url,
                          region_name=region)
    name = create_aggregates_table(client, f"store-{uuid.uuid4().hex[:8]}")
    return client, name, dynamodb_backends[LOCAL_ACCOUNT_ID][region].tables[name]


def _held(table: Any) -> set[int]:
    return {int(item._row) for partition in list(table.items.values())
            for item in partition.values()}


def _write(client: Any, name: str, count: int) -> None:
    for n in range(count):
        client.put_item(TableName=name, Item={"PK": {"S": f"p{n % 3}"},
                                              "SK": {"S": f"{n:03d}"}, "n": {"N": str(n)}})


def test_replaced_and_deleted_items_leave_no_rows(
        embedded_aws: EmbeddedAws, uncached: ItemStore) -> None:
    # GIVEN six items on disk
    client, name, table = _table(embedded_aws)
    _write(client, name, 6)
    written = _held(table)

    # WHEN one is updated, one replaced and one deleted
    key = {"PK": {"S": "p0"}, "SK": {"S": "000"}}
    client.update_item(TableName=name, Key=key, UpdateExpression="ADD n :one",
                       ExpressionAttributeValues={":one": {"N": "1"}})
    client.put_item(TableName=name, Item={"PK": {"S": "p1"}, "SK": {"S": "001"}})
    client.delete_item(TableName=name, Key={"PK": {"S": "p2"}, "SK": {"S": "002"}})
    gc.collect()

    # THEN the store holds the rows of the five items left, and none of the three gone
    held = _held(table)
    assert len(held) == 5 and len(written - held) == 3
    assert held <= _rows(uncached) and not (written - held) & _rows(uncached)
    # AND the items read back from the disk as written
    assert client.get_item(TableName=name, Key=key)["Item"]["n"] == {"N": "1"}
    assert client.get_item(TableName=name, Key={"PK": {"S": "p1"}, "SK": {"S": "001"}},
                           )["Item"] == {"PK": {"S": "p1"}, "SK": {"S": "001"}}


def test_a_deleted_table_s_rows_are_deleted(
        embedded_aws: EmbeddedAws, uncached: ItemStore) -> None:
    # GIVEN a table with items on disk
    client, name, table = _table(embedded_aws)
    _write(client, name, 9)
    rows = _held(table)

    # WHEN the table is deleted and moto lets go of it
    client.delete_table(TableName=name)
    del table
    gc.collect()

    # THEN its rows are gone
    assert rows and not rows & _rows(uncached)


def test_the_rows_of_reset_backends_are_deleted(
        embedded_aws: EmbeddedAws, uncached: ItemStore) -> None:
    # GIVEN items on disk in a region's tables
    from moto.dynamodb.models import dynamodb_backends

    client, name, table = _table(embedded_aws, OTHER_REGION)
    _write(client, name, 9)
    rows = _held(table)

    # WHEN that region's backend is reset (as resetting every backend does)
    dynamodb_backends[LOCAL_ACCOUNT_ID][OTHER_REGION].reset()
    del table
    gc.collect()

    # THEN its rows are gone
    assert rows and not rows & _rows(uncached)


def test_two_threads_updating_one_item_from_the_disk_lose_nothing(
        embedded_aws: EmbeddedAws, uncached: ItemStore) -> None:
    # GIVEN a counter item, and a store that reads every row from the disk
    client, name, _ = _table(embedded_aws)
    key = {"PK": {"S": "counter"}, "SK": {"S": "0"}}
    client.put_item(TableName=name, Item={**key, "n": {"N": "0"}, "seen": {"SS": ["start"]}})

    # WHEN two threads add to it 100 times each, each adding a value of its own to a set
    def add(thread: int) -> None:
        for n in range(100):
            client.update_item(
                TableName=name, Key=key, UpdateExpression="ADD n :one, seen :mine",
                ExpressionAttributeValues={":one": {"N": "1"}, ":mine": {"SS": [f"{thread}-{n}"]}})

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(add, range(2)))

    # THEN every addition counted and every value is in the set
    item = client.get_item(TableName=name, Key=key)["Item"]
    assert item["n"] == {"N": "200"} and len(item["seen"]["SS"]) == 201


def test_the_items_of_a_partition_share_its_key(embedded_aws: EmbeddedAws) -> None:
    # GIVEN a partition's items written by separate requests
    client, name, table = _table(embedded_aws)
    _write(client, name, 6)

    # WHEN moto's items are looked at
    # THEN the items of one partition hold one key object, equal to their own
    for partition in table.items.values():
        keys = {id(item.hash_key) for item in partition.values()}
        assert len(partition) == 2 and len(keys) == 1
