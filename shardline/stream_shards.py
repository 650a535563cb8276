"""A Kinesis stream's shards as an operator needs them around a reshard: which are open,
which are closed parents (still holding records until they expire), their lineage, and
each open shard's share of the hash key space (an uneven share means uneven load).

The same calls work against AWS and the local stack: DescribeStreamSummary and
ListShards (paginated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

HASH_KEYS = 2**128


@dataclass(frozen=True)
class ShardRow:
    shard: str
    state: str  # OPEN | CLOSED
    parents: str  # "parent[+adjacent parent]" or "-"
    hash_share_pct: float
    first_sequence: str
    ending_sequence: str  # "-" while open

    def as_row(self) -> dict[str, Any]:
        return {"shard": self.shard, "state": self.state, "parents": self.parents,
                "hash_share_pct": round(self.hash_share_pct, 2),
                "first_sequence": self.first_sequence,
                "ending_sequence": self.ending_sequence}


@dataclass(frozen=True)
class StreamShards:
    stream: str
    status: str  # ACTIVE | UPDATING | ...
    mode: str  # PROVISIONED | ON_DEMAND
    rows: list[ShardRow]

    @property
    def open_count(self) -> int:
        return sum(1 for row in self.rows if row.state == "OPEN")

    def summary(self) -> str:
        """One line: status, mode, open/closed counts and the UpdateShardCount range."""
        closed = len(self.rows) - self.open_count
        line = (f"{self.stream}: {self.status}, {self.mode}, {self.open_count} open, "
                f"{closed} closed")
        if self.mode == "PROVISIONED" and self.open_count:
            low, high = update_shard_count_range(self.open_count)
            line += f"; UpdateShardCount accepts {low}..{high}"
        return line


def update_shard_count_range(open_shards: int) -> tuple[int, int]:
    """The targets UpdateShardCount accepts by default: half to double the open count."""
    return max(1, math.ceil(open_shards / 2)), 2 * open_shards


def describe(kinesis: Any, stream_name: str) -> StreamShards:
    summary = kinesis.describe_stream_summary(StreamName=stream_name)[
        "StreamDescriptionSummary"]
    shards: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StreamName": stream_name}
    while True:
        page = kinesis.list_shards(**kwargs)
        shards.extend(page["Shards"])
        token = page.get("NextToken")
        if not token:
            break
        kwargs = {"NextToken": token}
    mode = (summary.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
    return StreamShards(stream_name, summary.get("StreamStatus", "?"), mode,
                        [_row(shard) for shard in shards])


def _row(shard: dict[str, Any]) -> ShardRow:
    keys = shard["HashKeyRange"]
    share = (int(keys["EndingHashKey"]) - int(keys["StartingHashKey"]) + 1) / HASH_KEYS
    sequence = shard["SequenceNumberRange"]
    ending = sequence.get("EndingSequenceNumber")
    parents = "+".join(shard[key] for key in ("ParentShardId", "AdjacentParentShardId")
                       if shard.get(key))
    return ShardRow(shard["ShardId"], "CLOSED" if ending else "OPEN", parents or "-",
                    100 * share, sequence["StartingSequenceNumber"], ending or "-")
