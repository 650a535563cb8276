"""Read a whole stream back, shard by shard, to check what a producer really wrote.

Verification reads from TRIM_HORIZON until each shard is drained, so it sees everything
still retained. It is meant for the embedded AWS and for small test streams: it makes
GetRecords calls back to back, where a real shard allows five per second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_RECORDS_PER_GET = 10_000


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One Kinesis record as stored: where it is and what it holds."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes


class StreamNotDrained(RuntimeError):
    """A shard still had records behind after the call budget; the read is incomplete."""


def list_shards(client: Any, stream_name: str) -> list[dict[str, Any]]:
    """Every shard of the stream as ListShards describes it (open and closed), following
    NextToken. ``stream_name`` may be a stream ARN."""
    param = "StreamARN" if stream_name.startswith("arn:") else "StreamName"
    shards: list[dict[str, Any]] = []
    response = client.list_shards(**{param: stream_name})
    while True:
        shards.extend(response.get("Shards", []))
        token = response.get("NextToken")
        if not token:
            return shards
        # With NextToken, ListShards rejects StreamName: the token carries the stream.
        response = client.list_shards(NextToken=token)


def list_shard_ids(client: Any, stream_name: str) -> list[str]:
    """All shard ids of the stream (ListShards, following NextToken)."""
    return [shard["ShardId"] for shard in list_shards(client, stream_name)]


def read_stream(
    client: Any, stream_name: str, *, max_calls_per_shard: int = 1_000
) -> list[StreamRecord]:
    """Every retained record, in shard order and, within a shard, sequence order."""
    records: list[StreamRecord] = []
    for shard_id in list_shard_ids(client, stream_name):
        records.extend(read_shard(client, stream_name, shard_id, max_calls=max_calls_per_shard))
    return records


def read_shard(
    client: Any, stream_name: str, shard_id: str, *, max_calls: int = 1_000
) -> list[StreamRecord]:
    """One shard from TRIM_HORIZON until caught up; bounded by ``max_calls``."""
    iterator = client.get_shard_iterator(
        StreamName=stream_name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[StreamRecord] = []
    for _ in range(max_calls):
        response = client.get_records(ShardIterator=iterator, Limit=MAX_RECORDS_PER_GET)
        batch = response.get("Records", [])
        records.extend(
            StreamRecord(shard_id, item["SequenceNumber"], item["PartitionKey"], item["Data"])
            for item in batch
        )
        iterator = response.get("NextShardIterator")
        # An empty page only means "done" when the shard says we are not behind; a closed
        # shard ends with no next iterator.
        if iterator is None or (not batch and response.get("MillisBehindLatest", 0) == 0):
            return records
    raise StreamNotDrained(
        f"shard {shard_id} of {stream_name!r} not drained after {max_calls} GetRecords calls"
    )


__all__ = [
    "StreamNotDrained",
    "StreamRecord",
    "list_shard_ids",
    "list_shards",
    "read_shard",
    "read_stream",
]
