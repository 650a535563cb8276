"""DynamoDB stream records kept on disk by the embedded AWS: the shard's records behave as
moto's list did, read back whole through the API, and leave with their shard."""

from __future__ import annotations

import gc
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas.shared.dynamo import batch_write
from shardline.local.embedded import LOCAL_ACCOUNT_ID, LOCAL_REGION, EmbeddedAws
from shardline.local.embedded_memory import pack_record
from shardline.local.embedded_spill import RecordStore, SpillDatabase, SpilledRecords
from tests.factories.dynamodb import create_aggregates_table


class _Built:
    """What moto's StreamRecord hands the shard once built (``embedded_memory``)."""

    def __init__(self, n: int) -> None:
        self.created_at = 1_778_000_000.0 + n
        self._packed = pack_record({"eventName": "INSERT", "dynamodb": {"n": n}})


def _records(tmp_path: Path, count: int) -> SpilledRecords:
    records = SpilledRecords(RecordStore(SpillDatabase(tmp_path / "spill.sqlite")))
    for n in range(count):
        records.append(_Built(n))
    return records


def test_spilled_records_index_and_slice_as_moto_s_list_did(tmp_path: Path) -> None:
    # GIVEN five records appended
    records = _records(tmp_path, 5)

    # WHEN they are read by position, from the end, by slice and in order
    # THEN each is the record appended there, with its creation time
    assert len(records) == 5
    assert records[0].to_json() == {"eventName": "INSERT", "dynamodb": {"n": 0}}
    assert records[-1].to_json()["dynamodb"]["n"] == 4
    assert records[-1].created_at == 1_778_000_004.0
    assert [r.to_json()["dynamodb"]["n"] for r in records[1:3]] == [1, 2]
    assert len(records[4:10]) == 1 and records[5:8] == []
    assert [r.to_json()["dynamodb"]["n"] for r in records] == [0, 1, 2, 3, 4]
    with pytest.raises(IndexError):
        records[5]


def test_a_trimmed_position_reads_as_empty_and_records_never_change(tmp_path: Path) -> None:
    # GIVEN three records
    records = _records(tmp_path, 3)

    # WHEN the first two are trimmed
    records[0] = None
    records[1] = None

    # THEN they read as empty slots, positions (sequence numbers) stay, and a record
    # cannot be replaced
    assert records[:3][:2] == [None, None] and records[2].to_json()["dynamodb"]["n"] == 2
    assert len(records) == 3
    with pytest.raises(TypeError):
        records[2] = _Built(9)


def test_a_forgotten_shard_s_rows_are_deleted(tmp_path: Path) -> None:
    # GIVEN two shards' records in one store
    store = RecordStore(SpillDatabase(tmp_path / "spill.sqlite"))
    kept, forgotten = SpilledRecords(store), SpilledRecords(store)
    for n in range(3):
        kept.append(_Built(n))
        forgotten.append(_Built(n))

    # WHEN moto forgets one shard (its table deleted, its backends reset)
    del forgotten
    gc.collect()
    store.flush()

    # THEN only the other shard's rows remain
    with store.database.locked() as db:
        rows = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert rows == 3 and len(kept[:3]) == 3


def _read_stream(embedded_aws: EmbeddedAws, client: Any, name: str) -> list[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams", endpoint_url=embedded_aws.endpoint_url)
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records: list[dict[str, Any]] = []
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            return records
        records += page["Records"]
        iterator = page["NextShardIterator"]


def test_a_table_stream_is_held_on_disk_and_reads_back_whole(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN a table with a stream of new and old images
    from moto.dynamodb.models import dynamodb_backends

    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    name = create_aggregates_table(client, f"spill-{uuid.uuid4().hex[:8]}")

    # WHEN 2,500 items are written, then the first 100 written again
    batch_write(client, name, [{"PK": f"p{n % 7}", "SK": f"{n:05d}", "n": n}
                               for n in range(2500)])
    batch_write(client, name, [{"PK": f"p{n % 7}", "SK": f"{n:05d}", "n": -n}
                               for n in range(100)])

    # THEN moto's shard keeps them on disk, and a reader from the trim horizon gets every
    # change once, in order, with its images
    shard = dynamodb_backends[LOCAL_ACCOUNT_ID][LOCAL_REGION].tables[name].stream_shard
    assert isinstance(shard.items, SpilledRecords) and len(shard.items) == 2600
    records = _read_stream(embedded_aws, client, name)
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == list(range(numbers[0], numbers[0] + 2600))
    assert {r["eventName"] for r in records[:2500]} == {"INSERT"}
    modified = {r["dynamodb"]["Keys"]["SK"]["S"]: r["dynamodb"] for r in records[2500:]}
    assert sorted(modified) == [f"{n:05d}" for n in range(100)]
    for sort_key, change in modified.items():
        n = int(sort_key)
        assert (change["OldImage"]["n"], change["NewImage"]["n"]) == (
            {"N": str(n)}, {"N": str(-n)})
