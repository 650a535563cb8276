"""Which shards a mapping reads across reshards (``shardline.local.shard_lineage``)."""

from __future__ import annotations

from shardline.local.shard_lineage import Lineage, ShardInfo

M = "mapping-1"
PARENT = ShardInfo("s0", closed=True)
LEFT, RIGHT = ShardInfo("s1", ("s0",)), ShardInfo("s2", ("s0",))


def test_children_wait_for_their_parent_then_start_at_their_first_record() -> None:
    # GIVEN a split parent still being read by a TRIM_HORIZON mapping
    lineage = Lineage()
    assert lineage.to_read(M, "TRIM_HORIZON", [PARENT, LEFT, RIGHT]) == {"s0": False}

    # WHEN the mapping finished the parent
    lineage.finished(M, "s0")

    # THEN both children are read, from their first record, and the parent no more
    assert lineage.to_read(M, "TRIM_HORIZON", [PARENT, LEFT, RIGHT]) == {
        "s1": True, "s2": True}


def test_a_merged_child_waits_for_both_parents() -> None:
    # GIVEN two parents merged into one child, one parent finished
    first, second = ShardInfo("s0", closed=True), ShardInfo("s1", closed=True)
    child = ShardInfo("s2", ("s0", "s1"))
    lineage = Lineage()
    lineage.to_read(M, "LATEST", [ShardInfo("s0"), ShardInfo("s1")])  # seen while open
    lineage.finished(M, "s0")

    # WHEN the shards are listed after the merge
    # THEN the child waits for the other parent
    assert lineage.to_read(M, "LATEST", [first, second, child]) == {"s1": False}
    lineage.finished(M, "s1")
    assert lineage.to_read(M, "LATEST", [first, second, child]) == {"s2": True}


def test_a_new_latest_mapping_skips_closed_shards_and_starts_children_at_latest() -> None:
    # GIVEN a stream split before the LATEST mapping existed
    lineage = Lineage()

    # WHEN the mapping first lists the shards
    ready = lineage.to_read(M, "LATEST", [PARENT, LEFT, RIGHT])

    # THEN it reads only the open children, at LATEST (their parent was not read)
    assert ready == {"s1": False, "s2": False}


def test_a_parent_past_the_retention_period_does_not_hold_its_children_back() -> None:
    # GIVEN a child whose parent is no longer listed (its records expired)
    lineage = Lineage()

    # WHEN a TRIM_HORIZON mapping lists the shards
    # THEN the child is read at the mapping's starting position
    assert lineage.to_read(M, "TRIM_HORIZON", [LEFT]) == {"s1": False}


def test_shard_info_reads_list_shards() -> None:
    listed = {"ShardId": "s2", "ParentShardId": "s0", "AdjacentParentShardId": "s1",
              "SequenceNumberRange": {"StartingSequenceNumber": "5",
                                      "EndingSequenceNumber": "9"}}
    assert ShardInfo.from_api(listed) == ShardInfo("s2", ("s0", "s1"), closed=True)
    assert ShardInfo.from_api({"ShardId": "s3", "SequenceNumberRange": {}}) == ShardInfo("s3")
