"""Scheduled rollup: pure roll-up logic, its repository against the embedded AWS (moto
server, with the by_hour index), and the handler's marker protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from lambdas.scheduled_rollup import config as scheduled_config
from lambdas.scheduled_rollup import handler as scheduled_handler
from lambdas.scheduled_rollup import repository as scheduled_repository
from lambdas.scheduled_rollup.config import ConfigError, ScheduledRollupConfig
from lambdas.scheduled_rollup.logic import (
    BadRequest,
    HourPlan,
    PendingHour,
    PendingMarker,
    hour_rollups,
    pending_hours,
    plan_run,
    requested_hours,
)
from lambdas.scheduled_rollup.repository import ScheduledRollupRepository
from lambdas.shared.aggregates import (
    HOUR_INDEX_SHARDS,
    BucketKey,
    hour_index_shard,
    stats_from_item,
    total_item,
)
from lambdas.shared.dynamo import batch_write
from lambdas.shared.markers import pending_marker_item
from tests.factories.dynamodb import scan_items
from tests.factories.eventbridge import backfill_event, scheduled_event
from tests.factories.kinesis import lambda_context
from tests.factories.partials import partial_of
from tests.unit.scheduled_rollup_table import (
    HOUR,
    HOUR_LABEL,
    METRIC,
    by_key,
    fleet_of,
    in_shard,
    invoke,
    marker,
    markers_in,
    rollups_in,
    total,
)
from tests.unit.scheduled_rollup_table import stats_of as stats

# -- pure logic ---------------------------------------------------------------------------


def test_rollups_equal_the_merged_minute_totals_exactly():
    # GIVEN minute totals of two devices at two sites, across two 5-minute periods
    totals = [
        total("dev-a", "site-1", 0, "20.1", "20.3"),
        total("dev-a", "site-1", 4, "0.000000001"),
        total("dev-b", "site-2", 3, "-4.5"),
        total("dev-b", "site-2", 5, "1e-20", "12345678901234.5"),
    ]
    # WHEN the hour is rolled up
    items = by_key(hour_rollups(totals))
    # THEN each roll-up equals the exact merge of its minutes' values
    device_first = items[("DM#dev-a#temperature_c", "R5#2026-01-01T00:00")]
    assert stats_from_item(device_first) == stats("20.1", "20.3", "0.000000001")
    assert device_first["sum"] == Decimal("40.400000001")
    assert (device_first["scope"], device_first["resolution_s"], device_first["period"],
            device_first["minutes"], device_first["devices"], device_first["site"]) == (
        "device", 300, HOUR, 2, 1, "site-1")
    fleet_hour = items[("FM#temperature_c", "R60#2026-01-01T00")]
    assert stats_from_item(fleet_hour) == stats(
        "20.1", "20.3", "0.000000001", "-4.5", "1e-20", "12345678901234.5")
    assert (fleet_hour["scope"], fleet_hour["resolution_s"], fleet_hour["minutes"],
            fleet_hour["devices"]) == ("fleet", 3600, 4, 2)
    assert "device_id" not in fleet_hour and "site" not in fleet_hour
    # AND the result does not depend on the order the index returns the totals in
    assert by_key(hour_rollups(reversed(totals))) == items


def test_five_minute_periods_start_at_multiples_of_five_minutes():
    # GIVEN totals at minutes 4, 5, 9, 10 and 59 of the hour
    totals = [total("dev-a", "site-1", minute, "1") for minute in (4, 5, 9, 10, 59)]
    # WHEN rolled up
    items = hour_rollups(totals)
    # THEN minute 4 is in :00, 5 and 9 in :05, 10 in :10, 59 in :55; one hour holds them all
    periods = {item["SK"]: item["minutes"] for item in items
               if item["scope"] == "device" and item["resolution_s"] == 300}
    assert periods == {"R5#2026-01-01T00:00": 1, "R5#2026-01-01T00:05": 2,
                       "R5#2026-01-01T00:10": 1, "R5#2026-01-01T00:55": 1}
    hours = [item for item in items if item["scope"] == "device" and item["resolution_s"] == 3600]
    assert [(item["SK"], item["period"], item["count"]) for item in hours] == [
        ("R60#2026-01-01T00", HOUR, 5)]


def test_sites_and_fleet_group_devices_and_count_them_once():
    # GIVEN three devices at two sites, one device with two minutes in the same period,
    # and two metrics
    totals = [
        total("dev-a", "site-1", 0, "1"), total("dev-a", "site-1", 1, "2"),
        total("dev-b", "site-1", 2, "3"), total("dev-c", "site-2", 3, "4"),
        total("dev-c", "site-2", 3, "50", metric="humidity_pct"),
    ]
    # WHEN rolled up
    items = by_key(hour_rollups(totals))
    # THEN a site roll-up holds its own devices only, counted once; metrics stay apart
    site_one = items[("SM#site-1#temperature_c", "R5#2026-01-01T00:00")]
    assert (site_one["devices"], site_one["minutes"], site_one["count"], site_one["sum"]) == (
        2, 3, 3, Decimal("6"))
    site_two = items[("SM#site-2#temperature_c", "R60#2026-01-01T00")]
    assert (site_two["devices"], site_two["sum"]) == (1, Decimal("4"))
    fleet = items[("FM#temperature_c", "R5#2026-01-01T00:00")]
    assert (fleet["devices"], fleet["count"], fleet["sum"]) == (3, 4, Decimal("10"))
    humidity = items[("FM#humidity_pct", "R60#2026-01-01T00")]
    assert (humidity["devices"], humidity["sum"]) == (1, Decimal("50"))
    # AND per metric: 3 device + 2 site + 1 fleet series, each with one 5-min and one hour
    assert len([i for i in items.values() if i["metric"] == METRIC]) == (3 + 2 + 1) * 2


def test_a_total_read_twice_counts_once_and_other_items_are_ignored():
    # GIVEN the index returned a total twice, and a partial slipped in
    once = total("dev-a", "site-1", 0, "7")
    key = BucketKey("dev-a", "site-1", METRIC, HOUR)
    items = hour_rollups([once, dict(once), partial_of(key, ["100"], "s-0", HOUR)])
    # THEN the roll-ups count the total once
    assert {item["count"] for item in items} == {1}
    assert hour_rollups([]) == []


def test_the_plan_recomputes_young_hours_but_keeps_their_young_markers():
    # GIVEN markers of three hours: old (in two shards), one old and one just written,
    # and one over the per-run limit
    old = [PendingMarker("RU#PENDING#1", "2026-01-01T00", "t1", 1000),
           PendingMarker("RU#PENDING#4", "2026-01-01T00", "t2", 1500)]
    mixed = [PendingMarker("RU#PENDING#1", "2026-01-01T01", "t3", 1000),
             PendingMarker("RU#PENDING#2", "2026-01-01T01", "t4", 1990)]
    later = PendingHour("2026-01-01T02", (PendingMarker("RU#PENDING#0", "2026-01-01T02",
                                                        "t5", 1000),))
    # WHEN planned at t=2000 with a 60 s settle time and 2 hours per run
    plan = plan_run([later, PendingHour("2026-01-01T01", tuple(mixed)),
                     PendingHour("2026-01-01T00", tuple(old))],
                    now=2000, settle_seconds=60, max_hours=2)
    # THEN the oldest hours are taken, each once; a young marker is kept, the settled
    # markers of the same hour are deleted
    assert plan.hours == [HourPlan("2026-01-01T00", settled=tuple(old), young=()),
                          HourPlan("2026-01-01T01", settled=(mixed[0],), young=(mixed[1],))]
    assert plan.left == [later]
    # AND with no settle time every marker is settled
    assert plan_run([PendingHour("2026-01-01T01", tuple(mixed))], now=1990, settle_seconds=0,
                    max_hours=2).hours[0].young == ()


def test_markers_of_every_shard_are_grouped_by_hour_oldest_first():
    # GIVEN markers of one hour in two shards (and the legacy partition), of an earlier
    # hour in one shard, and an item that is not a marker
    items = [pending_marker_item("2026-01-01T05", "b", 2, shard=6),
             pending_marker_item("2026-01-01T05", "c", 3, shard=1),
             pending_marker_item("2026-01-01T05", "d", 4),
             pending_marker_item("2026-01-01T01", "a", 1, shard=6),
             {"PK": "RU#PENDING#0", "SK": "x", "kind": "other"}]
    # WHEN read
    hours = pending_hours(items)
    # THEN each hour appears once, with every marker of it
    assert [h.hour for h in hours] == ["2026-01-01T01", "2026-01-01T05"]
    assert [(m.partition, m.token) for m in hours[1].markers] == [
        ("RU#PENDING", "d"), ("RU#PENDING#1", "c"), ("RU#PENDING#6", "b")]


def test_explicit_hours_are_validated_and_normalised():
    assert requested_hours(scheduled_event(), max_hours=24) is None
    assert requested_hours(None, max_hours=24) is None
    assert requested_hours(backfill_event("2026-01-01T05", "2026-01-01T01", "2026-01-01T05"),
                           max_hours=24) == ["2026-01-01T01", "2026-01-01T05"]
    for bad in (backfill_event(), {"hours": "2026-01-01T05"},
                backfill_event("2026-01-01 05"), backfill_event("2026-1-1T5"),
                backfill_event("2026-01-01T24")):
        with pytest.raises(BadRequest):
            requested_hours(bad, max_hours=24)
    with pytest.raises(BadRequest, match="at most 1"):
        requested_hours(backfill_event("2026-01-01T01", "2026-01-01T02"), max_hours=1)


def test_config_reads_and_validates_its_environment():
    config = ScheduledRollupConfig.from_environ({"AGGREGATES_TABLE": "t"})
    assert (config.settle_seconds, config.max_hours_per_run) == (60, 24)
    assert ScheduledRollupConfig.from_environ(
        {"AGGREGATES_TABLE": "t", "SETTLE_SECONDS": "0"}).settle_seconds == 0
    with pytest.raises(ConfigError, match="AGGREGATES_TABLE"):
        ScheduledRollupConfig.from_environ({})
    with pytest.raises(ConfigError, match="SETTLE_SECONDS"):
        ScheduledRollupConfig.from_environ({"AGGREGATES_TABLE": "t", "SETTLE_SECONDS": "-1"})
    with pytest.raises(ConfigError, match="MAX_HOURS_PER_RUN"):
        ScheduledRollupConfig.from_environ({"AGGREGATES_TABLE": "t", "MAX_HOURS_PER_RUN": "x"})


# -- repository and handler against the embedded AWS --------------------------------------


def test_the_repository_reads_an_hours_totals_from_every_index_shard(rollup_table):
    # GIVEN totals of 40 devices (spread over every index shard) in two hours, and items
    # that are not totals
    client, name = rollup_table
    totals = fleet_of(40, range(0, 60, 7))
    next_hour = total_item(BucketKey("dev-000", "site-0", METRIC, HOUR + 3600), stats("1"), 1)
    assert {hour_index_shard(t["device_id"]) for t in totals} == set(range(HOUR_INDEX_SHARDS))
    batch_write(client, name, [*totals, next_hour, marker(HOUR_LABEL, "t", 1, shard=2),
                               partial_of(BucketKey("dev-000", "site-0", METRIC, HOUR),
                                          ["1"], "s", HOUR)])
    repository = ScheduledRollupRepository(name, client)
    # WHEN one hour's totals are read
    read = list(repository.hour_totals(HOUR_LABEL))
    # THEN exactly that hour's totals come back, with what the roll-ups need
    assert sorted((t["device_id"], t["bucket"]) for t in read) == sorted(
        (t["device_id"], t["bucket"]) for t in totals)
    assert stats_from_item(read[0]) is not None and "site" in read[0]
    # AND markers are read consistently, and deleted only with their token
    assert [(m["PK"], m["SK"]) for m in repository.pending_markers()] == [in_shard(2)]
    assert repository.delete_marker("RU#PENDING#2", HOUR_LABEL, "not-the-token") is False
    assert repository.delete_marker("RU#PENDING#3", HOUR_LABEL, "t") is False  # other shard
    assert repository.delete_marker("RU#PENDING#2", HOUR_LABEL, "t") is True
    # already gone: not an error
    assert repository.delete_marker("RU#PENDING#2", HOUR_LABEL, "t") is False
    assert list(repository.pending_markers()) == []


def test_a_run_rolls_up_pending_hours_and_deletes_their_markers(rollup_table):
    # GIVEN totals of two hours, both marked pending, and a third hour not marked
    client, name = rollup_table
    first = fleet_of(5, range(0, 12))
    second = [total_item(BucketKey("dev-000", "site-0", METRIC, HOUR + 3600 + 60 * m),
                         stats("2"), 1) for m in range(3)]
    unmarked = total_item(BucketKey("dev-000", "site-0", METRIC, HOUR + 7200), stats("3"), 1)
    batch_write(client, name, [*first, *second, unmarked,
                               marker("2026-01-01T00", "a"),
                               marker("2026-01-01T01", "b", shard=3)])
    # WHEN the schedule fires
    summary = invoke(scheduled_event())
    # THEN both marked hours are rolled up, exactly as computed from their totals
    assert summary["hours_processed"] == ["2026-01-01T00", "2026-01-01T01"]
    assert summary["hours_remarked"] == [] and summary["hours_deferred"] == []
    expected = by_key(hour_rollups(first) + hour_rollups(second))
    assert rollups_in(client, name) == expected
    assert summary["items_written"] == len(expected)
    # AND their markers are gone; the unmarked hour was not touched
    assert markers_in(client, name) == {}
    assert not any(key[1].startswith("R60#2026-01-01T02") for key in expected)
    # AND a second run finds nothing to do and changes nothing
    again = invoke(scheduled_event())
    assert again["hours_processed"] == [] and again["items_written"] == 0
    assert rollups_in(client, name) == expected


def test_an_hour_re_marked_during_the_run_keeps_its_marker(rollup_table, monkeypatch):
    # GIVEN a pending hour, and a stream rollup that re-marks it while the run reads it
    # (a late partial's total arrives between the run's read and its delete)
    client, name = rollup_table
    batch_write(client, name, [*fleet_of(2, range(3)), marker(HOUR_LABEL, "a", 1)])
    repository = scheduled_repository.default_repository()
    read_totals = repository.hour_totals

    def read_then_remark(hour: str) -> Iterator[dict[str, Any]]:
        totals = list(read_totals(hour))
        batch_write(client, name, [marker(hour, "re-marked", 2)])
        return iter(totals)

    monkeypatch.setattr(repository, "hour_totals", read_then_remark)
    # WHEN the run finishes
    summary = invoke(scheduled_event())
    # THEN the conditional delete refused (normal, not an error): the new mark stays for
    # the next run
    assert summary["hours_processed"] == [HOUR_LABEL]
    assert summary["hours_remarked"] == [HOUR_LABEL]
    assert markers_in(client, name) == {in_shard(0): "re-marked"}


def test_markers_younger_than_the_settle_time_are_rolled_up_but_kept(rollup_table, monkeypatch):
    # GIVEN a settle time of 60 s and an hour marked just now
    client, name = rollup_table
    monkeypatch.setenv("SETTLE_SECONDS", "60")
    scheduled_config.get_config.cache_clear()
    batch_write(client, name, [*fleet_of(2, range(3)),
                               marker(HOUR_LABEL, "fresh", 10**10)])
    # WHEN the schedule fires
    summary = invoke(scheduled_event())
    # THEN the hour's roll-ups are written (fresh figures for the current hour) but its
    # marker stays, so a run after the index has settled recomputes it
    assert summary["hours_deferred"] == [HOUR_LABEL]
    assert summary["hours_processed"] == [HOUR_LABEL]
    assert rollups_in(client, name)
    assert markers_in(client, name) == {in_shard(0): "fresh"}


def test_explicit_hours_are_recomputed_without_markers(rollup_table):
    # GIVEN totals of an hour with no marker, and a marker of another hour
    client, name = rollup_table
    totals = fleet_of(3, range(0, 60, 10))
    batch_write(client, name, [*totals, marker("2026-01-01T07", "keep")])
    # WHEN a backfill names the hour
    summary = invoke(backfill_event(HOUR_LABEL))
    # THEN that hour is rolled up and no marker is read or deleted
    assert summary["backfill"] is True
    assert summary["hours_processed"] == [HOUR_LABEL]
    assert rollups_in(client, name) == by_key(hour_rollups(totals))
    assert markers_in(client, name) == {in_shard(0, "2026-01-01T07"): "keep"}
    # AND a malformed request is refused before anything is done
    with pytest.raises(BadRequest):
        invoke(backfill_event("yesterday"))


def test_a_failed_hour_keeps_its_marker_and_fails_the_invocation(rollup_table, monkeypatch):
    # GIVEN two pending hours, the first of which cannot be read
    client, name = rollup_table
    batch_write(client, name, [*fleet_of(2, range(3)),
                               marker("2025-12-31T23", "a"),
                               marker(HOUR_LABEL, "b", 1)])
    repository = scheduled_repository.default_repository()
    read_totals = repository.hour_totals

    def fail_one(hour: str) -> Iterator[dict[str, Any]]:
        if hour == "2025-12-31T23":
            raise RuntimeError("index unavailable")
        return read_totals(hour)

    monkeypatch.setattr(repository, "hour_totals", fail_one)
    # WHEN the run goes
    with pytest.raises(scheduled_handler.HoursNotRolledUp, match="2025-12-31T23"):
        invoke(scheduled_event())
    # THEN the other hour was still rolled up; only the failed hour stays marked
    assert markers_in(client, name) == {in_shard(0, "2025-12-31T23"): "a"}
    assert rollups_in(client, name)


# -- overlapping runs: the run lease ---------------------------------------------------
# Correctness must not rest on reserved concurrency 1 (Terraform no longer sets it): two
# runs may be invoked at once (a slow run and the next schedule, a backfill), and the
# lease is what keeps them apart.


def lease_in(client: Any, name: str) -> list[dict[str, Any]]:
    return [item for item in scan_items(client, name) if item["kind"] == "lease"]


def test_an_overlapping_run_cannot_overwrite_newer_rollups_with_older_ones(rollup_table,
                                                                          monkeypatch):
    # GIVEN a pending hour, and a run that is slow: while it reads the hour's totals, a
    # late total arrives and the hour is re-marked, and the next scheduled run starts
    client, name = rollup_table
    batch_write(client, name, [total("dev-a", "site-1", 0, "1"),
                               marker(HOUR_LABEL, "a", 1)])
    repository = scheduled_repository.default_repository()
    read_totals = repository.hour_totals
    overlapping: list[dict[str, Any]] = []

    def slow_read(hour: str) -> Iterator[dict[str, Any]]:
        totals = list(read_totals(hour))  # the old figures
        if not overlapping:
            batch_write(client, name, [total("dev-a", "site-1", 1, "100"),
                                       marker(hour, "late", 2)])
            overlapping.append(invoke(scheduled_event()))  # the next schedule fires
        return iter(totals)

    monkeypatch.setattr(repository, "hour_totals", slow_read)
    # WHEN the slow run finishes
    first = invoke(scheduled_event())
    # THEN the overlapping run did nothing (the slow run held the lease), so it could
    # not write the new figures only to have them overwritten by the slow run's old ones
    assert overlapping == [{"skipped": "another run holds the lease",
                            "hours_processed": [], "items_written": 0}]
    assert first["hours_processed"] == [HOUR_LABEL]
    # AND the slow run's delete refused (re-marked), so the hour is still pending
    assert markers_in(client, name) == {in_shard(0): "late"}
    # AND the lease was released: the next run recomputes the hour from every total
    monkeypatch.setattr(repository, "hour_totals", read_totals)
    second = invoke(scheduled_event())
    assert second["hours_processed"] == [HOUR_LABEL]
    newest = [total("dev-a", "site-1", 0, "1"), total("dev-a", "site-1", 1, "100")]
    assert rollups_in(client, name) == by_key(hour_rollups(newest))
    assert markers_in(client, name) == {} and lease_in(client, name) == []


def test_a_held_lease_makes_a_scheduled_run_do_nothing_and_a_backfill_fail(rollup_table):
    # GIVEN another run holding the lease (taken 10 s ago for a 300 s run)
    client, name = rollup_table
    batch_write(client, name, [*fleet_of(2, range(3)), marker(HOUR_LABEL, "a", 1)])
    other = ScheduledRollupRepository(name, client)
    assert other.take_lease("other-run", now=int(time.time()) - 10, duration_s=300)
    # WHEN the schedule fires, and a backfill is asked for
    summary = invoke(scheduled_event())
    with pytest.raises(scheduled_handler.RunInProgress):
        invoke(backfill_event(HOUR_LABEL))
    # THEN neither touched anything, and the other run's lease is still its own
    assert summary["skipped"] and summary["items_written"] == 0
    assert rollups_in(client, name) == {} and markers_in(client, name) == {in_shard(0): "a"}
    assert [item["holder"] for item in lease_in(client, name)] == ["other-run"]
    # AND only its holder can release it
    assert other.release_lease("someone-else") is False
    assert other.release_lease("other-run") is True and lease_in(client, name) == []


def test_an_expired_lease_is_taken_over(rollup_table):
    # GIVEN a lease whose holder ended without releasing it (its invocation timed out)
    client, name = rollup_table
    batch_write(client, name, [*fleet_of(2, range(3)), marker(HOUR_LABEL, "a", 1)])
    crashed = ScheduledRollupRepository(name, client)
    assert crashed.take_lease("crashed-run", now=int(time.time()) - 1000, duration_s=300)
    # WHEN the schedule fires
    summary = invoke(scheduled_event())
    # THEN the run takes the lease over, recomputes the hour and releases the lease
    assert summary["hours_processed"] == [HOUR_LABEL]
    assert markers_in(client, name) == {} and lease_in(client, name) == []
    # AND the crashed run's late release cannot remove a lease it no longer holds
    assert crashed.release_lease("crashed-run") is False


def test_the_lease_outlives_the_invocation_and_is_released_after_a_failure(rollup_table,
                                                                           monkeypatch):
    # GIVEN a run with 240 s left whose hour cannot be read
    client, name = rollup_table
    batch_write(client, name, [marker(HOUR_LABEL, "a", 1)])
    repository = scheduled_repository.default_repository()
    taken: list[int] = []
    take_lease = repository.take_lease

    def record(holder: str, *, now: int, duration_s: int) -> bool:
        taken.append(duration_s)
        return take_lease(holder, now=now, duration_s=duration_s)

    def fail(hour: str) -> Iterator[dict[str, Any]]:
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(repository, "take_lease", record)
    monkeypatch.setattr(repository, "hour_totals", fail)
    # WHEN it runs
    with pytest.raises(scheduled_handler.HoursNotRolledUp):
        scheduled_handler.lambda_handler(
            scheduled_event(), lambda_context("scheduled-rollup", remaining_time_ms=240_000))
    # THEN the lease covered the whole invocation plus the margin, and was released
    assert taken == [240 + scheduled_handler.LEASE_MARGIN_S]
    assert lease_in(client, name) == []
