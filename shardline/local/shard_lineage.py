"""Which shards of a stream a mapping reads, and from where, across reshards.

After a split or a merge the parent shards are closed but keep their records; new
records go to the children. A consumer that keeps per-key order must read a parent to
its end before it reads any of its children (Kinesis developer guide, "Complete the
resharding action": "ParentShardId" / "AdjacentParentShardId"). Lambda's event source
mapping does that for shared-throughput and enhanced fan-out mappings alike, so the
engine applies the same rules to both:

* a shard is read once none of its parents is still to be read (a parent no longer
  listed — past the retention period — does not hold it back);
* a closed shard whose records are all done (read, invoked or skipped, its windows
  closed) is dropped;
* a child starts at its first record (TRIM_HORIZON) when the mapping read a parent: the
  records written to it while the parent was drained are not skipped, whatever the
  mapping's starting position;
* a mapping seen for the first time with StartingPosition LATEST reads only the open
  shards, from their tip: its closed shards hold nothing after LATEST.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """A shard as ListShards describes it."""

    shard_id: str
    parents: tuple[str, ...] = ()  # ParentShardId, AdjacentParentShardId
    closed: bool = False  # has an EndingSequenceNumber

    @classmethod
    def from_api(cls, shard: dict[str, object]) -> ShardInfo:
        parents = tuple(str(shard[key]) for key in ("ParentShardId", "AdjacentParentShardId")
                        if shard.get(key))
        sequence_range = shard.get("SequenceNumberRange")
        closed = isinstance(sequence_range, dict) and "EndingSequenceNumber" in sequence_range
        return cls(str(shard["ShardId"]), parents, closed)


@dataclass
class Lineage:
    """Per mapping: the shards done with, and whether each was read (or skipped)."""

    # (mapping UUID, shard) -> True: read to its end; False: skipped (LATEST start).
    done: dict[tuple[str, str], bool] = field(default_factory=dict)
    seen_mappings: set[str] = field(default_factory=set)

    def to_read(self, mapping_uuid: str, starting_position: str,
                shards: list[ShardInfo]) -> dict[str, bool]:
        """Shard id -> whether it starts at its first record (a child of a shard the
        mapping read) rather than at the mapping's starting position."""
        if mapping_uuid not in self.seen_mappings:
            self.seen_mappings.add(mapping_uuid)
            if starting_position == "LATEST":
                for shard in shards:
                    if shard.closed:
                        self.done[(mapping_uuid, shard.shard_id)] = False
        listed = {shard.shard_id for shard in shards}
        ready: dict[str, bool] = {}
        for shard in shards:
            if (mapping_uuid, shard.shard_id) in self.done:
                continue
            parents = [p for p in shard.parents if p in listed]
            if all((mapping_uuid, p) in self.done for p in parents):
                ready[shard.shard_id] = any(self.done[(mapping_uuid, p)] for p in parents)
        return ready

    def finished(self, mapping_uuid: str, shard_id: str) -> None:
        """The mapping read the closed shard to its end."""
        self.done[(mapping_uuid, shard_id)] = True
