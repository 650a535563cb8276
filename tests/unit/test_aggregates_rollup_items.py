"""Items the rollups share through aggregates.py: pending-hour markers sharded by device,
and minute totals carrying per-site shares."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lambdas.shared.aggregates import (
    BucketKey,
    site_stats_from_total,
    stats_attributes,
    stats_from_item,
    total_item,
)
from lambdas.shared.dynamo import deserialize_item, serialize_item
from lambdas.shared.markers import (
    PENDING_SHARDS,
    pending_marker_item,
    pending_marks,
    pending_partition_keys,
    pending_shard,
)
from tests.factories.aggregates import METRIC, site_total, stats_of

MINUTE = 1_767_225_600  # 2026-01-01T00:00


def test_markers_of_one_hour_spread_over_shards_by_device():
    # GIVEN totals of 40 devices in one hour, and of one device in the next hour
    totals = [site_total(f"dev-{d:03d}", MINUTE + d, {"site-a": ["1"]}) for d in range(40)]
    totals.append(site_total("dev-000", MINUTE + 3600, {"site-a": ["1"]}))
    # WHEN their markers are derived
    marks = pending_marks(totals)
    # THEN the hour is marked once per shard its devices fall in: every shard here
    first_hour = [shard for hour, shard in marks if hour == "2026-01-01T00"]
    assert first_hour == list(range(PENDING_SHARDS))
    assert [m for m in marks if m[0] == "2026-01-01T01"] == [
        ("2026-01-01T01", pending_shard("dev-000"))]
    # AND the shard is a stable function of the device (crc32, not the salted hash())
    assert pending_shard("dev-000") == pending_shard("dev-000") < PENDING_SHARDS
    assert pending_marks(totals + totals) == marks


def test_a_marker_item_sits_in_its_shards_partition():
    # GIVEN an hour marked in shard 5
    item = pending_marker_item("2026-01-01T00", "tok", 17, 5)
    # THEN its key names the shard; without a shard it is the legacy partition
    assert (item["PK"], item["SK"], item["kind"], item["token"], item["marked_at"]) == (
        "RU#PENDING#5", "2026-01-01T00", "pending", "tok", 17)
    assert pending_marker_item("2026-01-01T00", "tok", 17)["PK"] == "RU#PENDING"
    # AND a reader's partitions are the legacy one and every shard's
    assert pending_partition_keys() == ["RU#PENDING", *(
        f"RU#PENDING#{n}" for n in range(PENDING_SHARDS))]


def test_a_one_site_total_has_no_site_map_and_reads_back_as_its_site():
    # GIVEN a minute whose readings came from one site (with or without by_site)
    key = BucketKey("dev-1", "plant-a", METRIC, MINUTE)
    plain = total_item(key, stats_of("1", "2"), 2)
    given = total_item(key, stats_of("1", "2"), 2, {"plant-a": stats_of("1", "2")})
    # THEN neither carries ``sites``, and both read back as the one site's statistics
    assert plain == given and "sites" not in plain
    assert site_stats_from_total(plain) == {"plant-a": stats_of("1", "2")}


def test_a_device_that_moved_mid_minute_carries_each_sites_share():
    # GIVEN a minute with readings from plant-b then plant-a
    item = site_total("dev-1", MINUTE, {"plant-b": ["3", "4.5"], "plant-a": ["-1"]})
    # THEN its own statistics are the whole minute's, its site the first in sort order
    assert stats_from_item(item) == stats_of("3", "4.5", "-1")
    assert item["site"] == "plant-a"
    assert item["sites"] == {"plant-a": stats_attributes(stats_of("-1")),
                             "plant-b": stats_attributes(stats_of("3", "4.5"))}
    # AND each share reads back exactly, also after a round trip through DynamoDB's types
    stored = deserialize_item(serialize_item(item))
    assert site_stats_from_total(stored) == {"plant-a": stats_of("-1"),
                                             "plant-b": stats_of("3", "4.5")}
    assert stored["sites"]["plant-b"]["sum"] == Decimal("7.5")


def test_site_shares_that_do_not_add_up_are_refused():
    # GIVEN shares counting three readings of a two-reading minute
    key = BucketKey("dev-1", "plant-a", METRIC, MINUTE)
    # WHEN the total is built
    # THEN it is refused rather than stored inconsistent
    with pytest.raises(ValueError, match="add up"):
        total_item(key, stats_of("1", "2"), 1,
                   {"plant-a": stats_of("1", "2"), "plant-b": stats_of("3")})
