"""Factories for producer tests on the embedded AWS (the session ``embedded_aws`` server).

* ``kinesis_client`` / ``fresh_stream``: a real boto3 client and a new stream with a name
  no other test uses (the server is shared by the whole session).
* ``telemetry_entries`` / ``blob_entries``: user records to publish, as ``PutEntry``.
* ``keys_by_shard``: partition keys that hash to each shard of a map.
* ``synthetic_listing``: ListShards ``Shards`` entries for hash ranges, without AWS.
* ``stored_user_records``: the stream read back with GetRecords per shard and split into
  user records by the aggregator Lambda's own deaggregation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from lambdas.shared.kpl import split_user_records
from lambdas.shared.telemetry import TelemetryV1, decode, encode
from producers.aggregation import HASH_KEY_LIMIT, ShardMap, hash_key
from producers.fleet import FleetConfig, generate
from producers.publisher import PutEntry
from producers.readback import read_stream
from shardline.local.embedded import EmbeddedAws

REGION = "us-east-1"
START_MS = 1_763_900_000_000  # a fixed event-time origin (2025-11-23T12:13:20Z)


def kinesis_client(aws: EmbeddedAws) -> Any:
    return boto3.client("kinesis", endpoint_url=aws.endpoint_url, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def fresh_stream(client: Any, shards: int = 2, prefix: str = "kpl") -> str:
    """A new ACTIVE stream (moto creates streams active at once) with a unique name."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    client.create_stream(StreamName=name, ShardCount=shards)
    return name


def telemetry_entries(
    devices: int = 20, rate_hz: float = 2.0, duration_s: float = 30.0, seed: int = 7
) -> list[PutEntry]:
    """A fleet's records in event-time order; each payload is its ``TelemetryV1``."""
    config = FleetConfig(devices=devices, rate_hz=rate_hz, duration_s=duration_s, seed=seed,
                         start_ms=START_MS)
    return [PutEntry(r.device_id, encode(r), r) for _offset, r in generate(config)]


def blob_entries(keys: Sequence[str], size: int, count: int) -> list[PutEntry]:
    """``count`` records of ``size`` bytes, keys dealt round-robin; payload = position."""
    return [PutEntry(keys[i % len(keys)], i.to_bytes(4, "big") * (size // 4) or b"x", i)
            for i in range(count)]


def keys_by_shard(shard_map: ShardMap, per_shard: int, prefix: str = "key") -> dict[str, list[str]]:
    """``per_shard`` partition keys hashing to each shard of ``shard_map``."""
    found: dict[str, list[str]] = {shard.shard_id: [] for shard in shard_map.shards}
    index = 0
    while any(len(keys) < per_shard for keys in found.values()):
        key = f"{prefix}-{index}"
        keys = found[shard_map.shard_for(key).shard_id]
        if len(keys) < per_shard:
            keys.append(key)
        index += 1
    return found


def synthetic_listing(
    bounds: Sequence[int], closed: Sequence[tuple[str, int, int]] = ()
) -> list[dict[str, Any]]:
    """ListShards entries: open shards starting at each of ``bounds`` (the first must be
    0), plus ``closed`` (id, start, end) parents that carry an EndingSequenceNumber."""
    ends = [*bounds[1:], HASH_KEY_LIMIT]
    shards = [
        {"ShardId": f"shardId-{index:012d}",
         "HashKeyRange": {"StartingHashKey": str(start), "EndingHashKey": str(end - 1)},
         "SequenceNumberRange": {"StartingSequenceNumber": "1"}}
        for index, (start, end) in enumerate(zip(bounds, ends, strict=True))
    ]
    shards += [
        {"ShardId": shard_id,
         "HashKeyRange": {"StartingHashKey": str(start), "EndingHashKey": str(end)},
         "SequenceNumberRange": {"StartingSequenceNumber": "1", "EndingSequenceNumber": "9"}}
        for shard_id, start, end in closed
    ]
    return shards


@dataclass(frozen=True, slots=True)
class StoredUserRecord:
    """A user record as the stream holds it: its Kinesis record and its place in it."""

    shard_id: str
    sequence_number: int
    sub_sequence_number: int | None  # None: a plain (not aggregated) Kinesis record
    kinesis_partition_key: str
    user_records_in_kinesis_record: int
    partition_key: str
    data: bytes

    @property
    def hash_key(self) -> int:
        return hash_key(self.partition_key)

    def telemetry(self) -> TelemetryV1:
        return decode(self.data)


def stored_user_records(client: Any, stream: str) -> list[StoredUserRecord]:
    """Every user record in the stream, shard by shard, in stream order."""
    stored: list[StoredUserRecord] = []
    for record in read_stream(client, stream):
        users = split_user_records(record.data)
        for user in users:
            stored.append(StoredUserRecord(
                shard_id=record.shard_id,
                sequence_number=int(record.sequence_number),
                sub_sequence_number=user.sub_sequence_number,
                kinesis_partition_key=record.partition_key,
                user_records_in_kinesis_record=len(users),
                partition_key=user.partition_key or record.partition_key,
                data=user.data,
            ))
    return stored


__all__ = [
    "START_MS",
    "StoredUserRecord",
    "blob_entries",
    "fresh_stream",
    "keys_by_shard",
    "kinesis_client",
    "stored_user_records",
    "synthetic_listing",
    "telemetry_entries",
]
