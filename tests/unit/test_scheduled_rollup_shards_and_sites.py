"""Scheduled rollup: pending-hour markers sharded over several partitions (each hour
recomputed once, each marker deleted on its own token), and site roll-ups of devices that
moved between sites within a minute."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from lambdas.scheduled_rollup import config as scheduled_config
from lambdas.scheduled_rollup import repository as scheduled_repository
from lambdas.scheduled_rollup.logic import hour_rollups
from lambdas.scheduled_rollup.repository import ScheduledRollupRepository
from lambdas.shared.aggregates import stats_from_item
from lambdas.shared.dynamo import batch_write
from lambdas.shared.markers import pending_marker_item
from tests.factories.aggregates import site_total
from tests.factories.eventbridge import scheduled_event
from tests.unit.scheduled_rollup_table import (
    HOUR,
    HOUR_LABEL,
    by_key,
    fleet_of,
    in_shard,
    invoke,
    marker,
    markers_in,
    rollups_in,
    stats_of,
    total,
)


def count_hour_reads(monkeypatch) -> list[str]:
    """Record each hour the run reads totals of (the run's own repository)."""
    repository = scheduled_repository.default_repository()
    read_totals = repository.hour_totals
    reads: list[str] = []

    def counted(hour: str) -> Iterator[dict[str, Any]]:
        reads.append(hour)
        return read_totals(hour)

    monkeypatch.setattr(repository, "hour_totals", counted)
    return reads


# -- markers in several shards --------------------------------------------------------------


def test_an_hour_marked_in_several_shards_is_recomputed_once(rollup_table, monkeypatch):
    # GIVEN an hour marked in three shards and in the legacy partition (written before
    # markers were sharded), and another hour marked in one shard
    client, name = rollup_table
    first, second = fleet_of(5, range(0, 12)), fleet_of(2, range(60, 63))
    batch_write(client, name, [*first, *second,
                               *(marker(HOUR_LABEL, f"t{n}", shard=n) for n in (0, 3, 7)),
                               pending_marker_item(HOUR_LABEL, "legacy", 1),
                               marker("2026-01-01T01", "u", shard=3)])
    reads = count_hour_reads(monkeypatch)
    # WHEN the schedule fires
    summary = invoke(scheduled_event())
    # THEN each hour is read and rolled up once, however many shards mark it
    assert reads == [HOUR_LABEL, "2026-01-01T01"]
    assert summary["hours_processed"] == [HOUR_LABEL, "2026-01-01T01"]
    assert rollups_in(client, name) == by_key(hour_rollups(first) + hour_rollups(second))
    # AND every marker of every shard is gone, the legacy one too
    assert markers_in(client, name) == {}


def test_a_shard_re_marked_during_the_run_keeps_only_its_own_marker(rollup_table, monkeypatch):
    # GIVEN an hour marked in shards 1 and 2, and a stream rollup that re-marks it in
    # shard 2 while the run reads its totals
    client, name = rollup_table
    batch_write(client, name, [*fleet_of(3, range(3)), marker(HOUR_LABEL, "a", shard=1),
                               marker(HOUR_LABEL, "b", shard=2)])
    repository = scheduled_repository.default_repository()
    read_totals = repository.hour_totals

    def read_then_remark(hour: str) -> Iterator[dict[str, Any]]:
        totals = list(read_totals(hour))
        batch_write(client, name, [marker(hour, "re-marked", 2, shard=2)])
        return iter(totals)

    monkeypatch.setattr(repository, "hour_totals", read_then_remark)
    # WHEN the run finishes
    summary = invoke(scheduled_event())
    # THEN shard 1's unchanged marker is deleted; shard 2's new one stays for the next run
    assert summary["hours_processed"] == [HOUR_LABEL]
    assert summary["hours_remarked"] == [HOUR_LABEL]
    assert markers_in(client, name) == {in_shard(2): "re-marked"}


def test_a_young_marker_is_kept_and_its_hours_settled_markers_deleted(rollup_table,
                                                                      monkeypatch):
    # GIVEN a 60 s settle time and an hour marked long ago in shard 4, just now in shard 5
    client, name = rollup_table
    monkeypatch.setenv("SETTLE_SECONDS", "60")
    scheduled_config.get_config.cache_clear()
    batch_write(client, name, [*fleet_of(2, range(3)), marker(HOUR_LABEL, "old", shard=4),
                               marker(HOUR_LABEL, "fresh", 10**10, shard=5)])
    # WHEN the schedule fires
    summary = invoke(scheduled_event())
    # THEN the hour is rolled up and deferred: only the young marker stays
    assert summary["hours_processed"] == [HOUR_LABEL]
    assert summary["hours_deferred"] == [HOUR_LABEL]
    assert rollups_in(client, name)
    assert markers_in(client, name) == {in_shard(5): "fresh"}


def test_the_repository_reads_markers_of_every_shard(rollup_table):
    # GIVEN markers of one hour in every shard and in the legacy partition
    client, name = rollup_table
    batch_write(client, name, [*(marker(HOUR_LABEL, str(n), shard=n) for n in range(8)),
                               pending_marker_item(HOUR_LABEL, "legacy", 1)])
    repository = ScheduledRollupRepository(name, client)
    # WHEN they are read
    read = [(m["PK"], m["token"]) for m in repository.pending_markers()]
    # THEN each is read once
    assert sorted(read) == sorted([("RU#PENDING", "legacy"),
                                   *((f"RU#PENDING#{n}", str(n)) for n in range(8))])


# -- a device that changes site within a minute ---------------------------------------------


def moved_device_totals() -> list[dict[str, Any]]:
    """dev-m: minute 0 at plant-a, minute 1 split between plant-a and plant-b, minute 2 at
    plant-b; dev-s stays at plant-a."""
    return [
        site_total("dev-m", HOUR, {"plant-a": ["1"]}),
        site_total("dev-m", HOUR + 60, {"plant-a": ["2", "3"], "plant-b": ["10"]}),
        site_total("dev-m", HOUR + 120, {"plant-b": ["20"]}),
        site_total("dev-s", HOUR + 60, {"plant-a": ["100"]}),
    ]


def test_a_site_rolls_up_only_its_share_of_a_moved_devices_minute():
    # GIVEN a device that moved from plant-a to plant-b during minute 1
    totals = moved_device_totals()
    # WHEN the hour is rolled up
    items = by_key(hour_rollups(totals))
    # THEN plant-a holds the readings reported at plant-a, plant-b the rest
    plant_a = items[("SM#plant-a#temperature_c", "R5#2026-01-01T00:00")]
    plant_b = items[("SM#plant-b#temperature_c", "R60#2026-01-01T00")]
    assert stats_from_item(plant_a) == stats_of("1", "2", "3", "100")
    assert stats_from_item(plant_b) == stats_of("10", "20")
    # AND the moved device counts in each site it reported from, for the minutes it did
    assert (plant_a["devices"], plant_a["minutes"]) == (2, 3)
    assert (plant_b["devices"], plant_b["minutes"]) == (1, 2)
    # AND the fleet and the device merge whole minutes, as before
    fleet = items[("FM#temperature_c", "R60#2026-01-01T00")]
    assert stats_from_item(fleet) == stats_of("1", "2", "3", "10", "20", "100")
    assert (fleet["devices"], fleet["minutes"]) == (2, 4)
    device = items[("DM#dev-m#temperature_c", "R5#2026-01-01T00:00")]
    assert stats_from_item(device) == stats_of("1", "2", "3", "10", "20")
    assert (device["minutes"], device["devices"], device["site"]) == (3, 1, "plant-a")
    # AND the sites together hold exactly the fleet's readings
    sites = [item for item in items.values()
             if item["scope"] == "site" and item["resolution_s"] == 3600]
    assert sum(int(item["count"]) for item in sites) == fleet["count"]
    assert sum(Decimal(item["sum"]) for item in sites) == fleet["sum"]


def test_one_site_totals_roll_up_as_before():
    # GIVEN totals written without per-site shares, and the same minutes with one share
    plain = [total("dev-a", "site-1", 0, "4"), total("dev-b", "site-2", 1, "5")]
    shared = [site_total("dev-a", HOUR, {"site-1": ["4"]}),
              site_total("dev-b", HOUR + 60, {"site-2": ["5"]})]
    # THEN they roll up the same
    assert hour_rollups(plain) == hour_rollups(shared)


def test_a_run_reads_site_shares_through_the_hour_index(rollup_table):
    # GIVEN the moved device's totals in the table, its hour marked
    client, name = rollup_table
    totals = moved_device_totals()
    batch_write(client, name, [*totals, marker(HOUR_LABEL, "a", shard=6)])
    repository = ScheduledRollupRepository(name, client)
    # WHEN the hour's totals are read back from the by_hour index, and the schedule fires
    read = {int(item["bucket"]): item for item in repository.hour_totals(HOUR_LABEL)
            if item["device_id"] == "dev-m"}
    invoke(scheduled_event())
    # THEN the index projects each site's share, and the site roll-ups use them
    assert sorted(read[HOUR + 60]["sites"]) == ["plant-a", "plant-b"]
    assert rollups_in(client, name) == by_key(hour_rollups(totals))
    plant_b = rollups_in(client, name)[("SM#plant-b#temperature_c", "R60#2026-01-01T00")]
    assert stats_from_item(plant_b) == stats_of("10", "20")
