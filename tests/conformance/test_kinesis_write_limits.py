"""Kinesis write limits per shard: 1,000 records/s and 1 MiB/s (data + partition key).

Kinesis API reference (PutRecords, PutRecordsResultEntry, PutRecord) and developer guide
("Quotas and limits"). Time is the harness's virtual clock: nothing moves between puts
unless the test advances it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conformance.harness import Harness

ACCOUNT = "123456789012"
THROTTLED = "ProvisionedThroughputExceededException"


@pytest.fixture(autouse=True)
def write_limits(harness: Harness) -> Iterator[None]:
    """The embedded AWS's write limits, on the harness's virtual clock, for this test."""
    limits = harness.aws.kinesis_writes
    assert limits is not None
    limits.enable(harness.clock)
    yield
    limits.disable()


def _put_records(harness: Harness, stream: str, records: list[tuple[str, bytes]],
                 **extra: Any) -> dict[str, Any]:
    return harness.client("kinesis").put_records(StreamName=stream, Records=[
        {"PartitionKey": key, "Data": data, **extra} for key, data in records])


def _stored(harness: Harness, stream: str, shard_id: str) -> list[tuple[str, bytes]]:
    kinesis = harness.client("kinesis")
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
    return [(r["SequenceNumber"], r["Data"]) for r in records]


def _keys_by_shard(harness: Harness, stream: str) -> dict[str, str]:
    """A partition key routed to each shard (MD5 of the key into the hash key ranges)."""
    shards = harness.client("kinesis").list_shards(StreamName=stream)["Shards"]
    found: dict[str, str] = {}
    for n in range(1000):
        key = f"dev-{n:05d}"
        hashed = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
        for shard in shards:
            ranges = shard["HashKeyRange"]
            if int(ranges["StartingHashKey"]) <= hashed <= int(ranges["EndingHashKey"]):
                found.setdefault(shard["ShardId"], key)
        if len(found) == len(shards):
            return found
    raise AssertionError("no key for some shard")


def test_a_shard_takes_1000_records_per_second_and_refuses_the_rest_per_record(
        harness: Harness) -> None:
    # GIVEN a one-shard stream, written by nobody yet
    harness.stream("telemetry")
    small = [("dev-00001", b"x")] * 500

    # WHEN 1,500 small records arrive in the same instant (three calls of 500)
    first, second, third = (_put_records(harness, "telemetry", small) for _ in range(3))

    # THEN the first second's 1,000 are written and every record of the third call is
    # refused, with the ErrorCode and the ErrorMessage naming shard, stream and account
    assert (first["FailedRecordCount"], second["FailedRecordCount"]) == (0, 0)
    assert third["FailedRecordCount"] == 500
    assert third["Records"][0] == {
        "ErrorCode": THROTTLED,
        "ErrorMessage": "Rate exceeded for shard shardId-000000000000 in stream telemetry "
                        f"under account {ACCOUNT}."}
    assert all(set(r) == {"ErrorCode", "ErrorMessage"} for r in third["Records"])

    # AND a quarter of a second later a quarter of the rate is back: the first 250
    # records of the next call are written, the last 250 refused
    harness.clock.advance_to(harness.clock.now() + 0.25)
    fourth = _put_records(harness, "telemetry", small)
    assert fourth["FailedRecordCount"] == 250
    assert [("SequenceNumber" in r) for r in fourth["Records"]] == [True] * 250 + [False] * 250


def test_a_shard_takes_1_mib_per_second_counting_data_and_partition_key(
        harness: Harness) -> None:
    # GIVEN a one-shard stream and records of 100 KiB of data (plus a 9-byte key)
    harness.stream("telemetry")
    kinesis = harness.client("kinesis")
    blob = b"x" * (100 * 1024)

    def put() -> str:
        return str(kinesis.put_record(StreamName="telemetry", PartitionKey="dev-00001",
                                      Data=blob)["SequenceNumber"])

    # WHEN they are put one by one in the same instant
    written = [put() for _ in range(10)]

    # THEN ten fit in 1 MiB (1,024,090 bytes) and the eleventh gets a 400
    # ProvisionedThroughputExceededException
    with pytest.raises(ClientError) as refused:
        put()
    error = refused.value.response["Error"]
    assert error["Code"] == THROTTLED
    assert error["Message"] == ("Rate exceeded for shard shardId-000000000000 in stream "
                                f"telemetry under account {ACCOUNT}.")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    # AND 0.1 s later (104,857 bytes refilled) one more fits
    harness.clock.advance_to(harness.clock.now() + 0.1)
    written.append(put())
    # AND the shard holds exactly the records that were written
    assert [seq for seq, _ in _stored(harness, "telemetry", "shardId-000000000000")] == written


def test_limits_are_per_shard_routed_by_partition_key_or_explicit_hash_key(
        harness: Harness) -> None:
    # GIVEN a two-shard stream and a key routed to each shard
    harness.stream("telemetry", shards=2)
    keys = _keys_by_shard(harness, "telemetry")
    hot, cold = keys["shardId-000000000000"], keys["shardId-000000000001"]

    # WHEN one key fills its shard's second of records
    _put_records(harness, "telemetry", [(hot, b"x")] * 500)
    _put_records(harness, "telemetry", [(hot, b"x")] * 500)
    # AND a call then mixes records of both shards, one sent to the hot shard's range by
    # ExplicitHashKey under the cold key
    response = harness.client("kinesis").put_records(StreamName="telemetry", Records=[
        {"PartitionKey": hot, "Data": b"hot"},
        {"PartitionKey": cold, "Data": b"cold"},
        {"PartitionKey": cold, "Data": b"explicit", "ExplicitHashKey": "0"},
    ])

    # THEN only the records bound for the full shard are refused, each naming it
    results = response["Records"]
    assert response["FailedRecordCount"] == 2
    assert results[0]["ErrorCode"] == THROTTLED == results[2]["ErrorCode"]
    assert "shardId-000000000000" in results[2]["ErrorMessage"]
    assert results[1]["ShardId"] == "shardId-000000000001"


def test_refused_records_are_not_stored_and_the_written_keep_their_order(
        harness: Harness) -> None:
    # GIVEN a one-shard stream with 999 records of its second already used
    harness.stream("telemetry")
    _put_records(harness, "telemetry", [("dev-00001", b"fill")] * 499)
    _put_records(harness, "telemetry", [("dev-00001", b"fill")] * 500)

    # WHEN a call of three records arrives: one fits, two are refused
    response = _put_records(harness, "telemetry",
                            [("dev-00001", b"a"), ("dev-00001", b"b"), ("dev-00001", b"c")])
    # AND half a second later the refused two are sent again
    harness.clock.advance_to(harness.clock.now() + 0.5)
    retry = _put_records(harness, "telemetry", [("dev-00001", b"b"), ("dev-00001", b"c")])

    # THEN the shard holds a, b, c once each, in that order, under the sequence numbers
    # the responses gave
    assert response["FailedRecordCount"] == 2 and retry["FailedRecordCount"] == 0
    tail = _stored(harness, "telemetry", "shardId-000000000000")[999:]
    assert [data for _, data in tail] == [b"a", b"b", b"c"]
    assert [seq for seq, _ in tail] == [response["Records"][0]["SequenceNumber"],
                                        *(r["SequenceNumber"] for r in retry["Records"])]
