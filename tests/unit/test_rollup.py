"""Rollup function, in-process against embedded DynamoDB (moto): stream records of
partials in, per-minute totals out."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from lambdas.rollup import config as rollup_config
from lambdas.rollup import handler as rollup_handler
from lambdas.rollup import repository
from lambdas.rollup.logic import DeviceMinute, minute_outcome, touched_minute
from lambdas.shared.aggregates import (
    BucketKey,
    Stats,
    combine,
    hour_index_shard,
    rollup_item,
    stats_from_item,
    total_item,
)
from lambdas.shared.dynamo import BatchWriteError, BatchWriteReport, serialize_item
from lambdas.shared.markers import pending_marker_item, pending_shard
from lambdas.shared.partials import totals_from_partials
from tests.factories.dynamodb import create_aggregates_table, scan_items
from tests.factories.dynamodb_streams import (
    inserts,
    sequence_numbers,
    stream_event,
    stream_record,
    ttl_removal,
)
from tests.factories.kinesis import lambda_context
from tests.factories.partials import partial_from_entries, partial_of, reading

TABLE = "aggregates"
MINUTE = 1_767_225_600  # 2026-01-01T00:00
KEY = BucketKey("dev-00001", "site-a", "temperature_c", MINUTE)
DEVICE_MINUTE = DeviceMinute("dev-00001", MINUTE)


def stats(*values: str) -> Stats:
    result = Stats.of(Decimal(values[0]))
    for value in values[1:]:
        result.add(Decimal(value))
    return result


@pytest.fixture(scope="module")
def aws_session():
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.setenv("AGGREGATES_TABLE", TABLE)
        rollup_config.get_config.cache_clear()
        repository.default_repository.cache_clear()
        with mock_aws():
            yield boto3.session.Session(region_name="us-east-1")
        rollup_config.get_config.cache_clear()
        repository.default_repository.cache_clear()


@pytest.fixture
def dynamodb(aws_session):
    client = aws_session.client("dynamodb")
    create_aggregates_table(client, TABLE)
    yield client
    client.delete_table(TableName=TABLE)


def put(client, *items):
    for item in items:
        client.put_item(TableName=TABLE, Item=serialize_item(item))
    return list(items)


def invoke(event):
    return rollup_handler.lambda_handler(event, lambda_context("rollup"))


def totals_in(client):
    return {(item["PK"], item["SK"]): item
            for item in scan_items(client, TABLE) if item["kind"] == "total"}


# -- pure logic ---------------------------------------------------------------------------


def test_only_inserted_or_modified_partials_touch_a_minute():
    # GIVEN a partial, a total and other items as stream images
    partial = partial_of(KEY, ["1"], "shard-0", MINUTE)
    total = total_item(KEY, stats("1"), 1)
    # WHEN each record is classified
    # THEN only INSERT/MODIFY of a partial names its minute
    assert touched_minute("INSERT", partial) == DEVICE_MINUTE
    assert touched_minute("MODIFY", partial) == DEVICE_MINUTE
    assert touched_minute("REMOVE", partial) is None
    assert touched_minute("INSERT", total) is None
    assert touched_minute("INSERT", {"PK": "x", "SK": "y", "kind": "quarantine"}) is None
    assert touched_minute("INSERT", None) is None
    # AND the scheduled rollup's markers and roll-ups never touch a minute either
    assert touched_minute("INSERT", pending_marker_item("2026-01-01T00", "t", 1)) is None
    assert touched_minute("MODIFY", rollup_item("fleet", "temperature_c", 300, MINUTE,
                                                stats("1"), minutes=1, devices=1)) is None


def test_a_minute_total_sums_every_partial_exactly():
    # GIVEN three partials of one minute, from two shards and a split window
    partials = [
        partial_of(KEY, ["20.1", "20.3"], "shard-0", MINUTE),
        partial_of(KEY, ["-4.5"], "shard-1", MINUTE + 10),
        partial_of(KEY, ["0.000000001"], "shard-1", MINUTE + 10, segment="49"),
    ]
    # WHEN the total is recomputed
    (total,) = minute_outcome(DEVICE_MINUTE, partials).totals
    # THEN it holds the exact merged statistics and the number of partials
    assert total["SK"] == "T#2026-01-01T00:00"
    assert total["PK"] == "DM#dev-00001#temperature_c"
    assert total["kind"] == "total"
    assert total["partials"] == 3
    assert stats_from_item(total) == stats("20.1", "20.3", "-4.5", "0.000000001")
    assert total["sum"] == Decimal("35.900000001")
    # AND no partials gives no total
    assert minute_outcome(DEVICE_MINUTE, []).totals == []


# -- handler against embedded DynamoDB --------------------------------------------------


def test_partials_of_a_batch_become_one_total_per_minute(dynamodb):
    # GIVEN partials of two minutes and two metrics written to the table
    other_minute = BucketKey("dev-00001", "site-a", "temperature_c", MINUTE + 60)
    other_metric = BucketKey("dev-00001", "site-a", "humidity_pct", MINUTE)
    written = put(
        dynamodb,
        partial_of(KEY, ["1", "2"], "shard-0", MINUTE),
        partial_of(KEY, ["3"], "shard-1", MINUTE),
        partial_of(other_minute, ["5"], "shard-0", MINUTE + 60),
        partial_of(other_metric, ["40", "41"], "shard-2", MINUTE),
    )
    # WHEN the stream delivers their INSERT records in one batch
    response = invoke(stream_event(inserts(written)))
    # THEN there are no failures and one exact total per (device, metric, minute)
    assert response == {"batchItemFailures": []}
    totals = totals_in(dynamodb)
    assert len(totals) == 3
    assert combine(totals.values()) == totals_from_partials(written)
    # (a total counts the partials of its device-minute, whatever metrics they hold)
    assert totals[("DM#dev-00001#temperature_c", "T#2026-01-01T00:00")]["partials"] == 3


def test_the_total_counts_partials_already_in_the_table(dynamodb):
    # GIVEN a partial written (and rolled up) earlier, then a second one of the same minute
    first = put(dynamodb, partial_of(KEY, ["10"], "shard-0", MINUTE))
    invoke(stream_event(inserts(first)))
    second = put(dynamodb, partial_of(KEY, ["30"], "shard-1", MINUTE))
    # WHEN only the second partial's record arrives
    invoke(stream_event(inserts(second)))
    # THEN the total is recomputed from both
    total = totals_in(dynamodb)[("DM#dev-00001#temperature_c", "T#2026-01-01T00:00")]
    assert total["partials"] == 2
    assert stats_from_item(total) == stats("10", "30")


def test_redelivering_a_batch_leaves_the_totals_unchanged(dynamodb):
    # GIVEN a batch already rolled up
    written = put(dynamodb, partial_of(KEY, ["1.5"], "shard-0", MINUTE),
                  partial_of(KEY, ["2.5"], "shard-1", MINUTE))
    event = stream_event(inserts(written))
    invoke(event)
    before = totals_in(dynamodb)
    # WHEN Lambda delivers the same records again, and a replayed window MODIFYs a partial
    invoke(event)
    invoke(stream_event([stream_record(written[0], event_name="MODIFY", old_image=written[0])]))
    # THEN the totals are exactly the same (recomputed, never incremented)
    assert totals_in(dynamodb) == before


def test_totals_written_by_the_rollup_do_not_trigger_more_writes(dynamodb):
    # GIVEN the stream record of a total the function wrote itself
    total = total_item(KEY, stats("7"), 1)
    # WHEN it is delivered
    response = invoke(stream_event([stream_record(total)]))
    # THEN nothing is written and nothing fails
    assert response == {"batchItemFailures": []}
    assert totals_in(dynamodb) == {}


def test_a_partial_deleted_by_ttl_changes_no_total(dynamodb):
    # GIVEN a minute's total, and the TTL deletion of one of its two partials
    expired, kept = partial_of(KEY, ["1"], "shard-0", MINUTE), partial_of(KEY, ["3"], "shard-1",
                                                                          MINUTE)
    put(dynamodb, kept, total_item(KEY, stats("1", "3"), 2))
    # WHEN the REMOVE record made by the DynamoDB service is delivered
    response = invoke(stream_event([ttl_removal(expired)]))
    # THEN nothing fails and the total is not recomputed from what is left
    assert response == {"batchItemFailures": []}
    [total] = totals_in(dynamodb).values()
    assert stats_from_item(total) == stats("1", "3")


def test_a_failed_write_reports_every_record_of_the_batch(dynamodb, monkeypatch):
    # GIVEN partials whose totals cannot be written (the write budget runs out)
    written = put(dynamodb, partial_of(KEY, ["1"], "shard-0", MINUTE),
                  partial_of(KEY, ["2"], "shard-1", MINUTE))
    event = stream_event(inserts(written))
    repo = repository.default_repository()

    def refuse(items, stale_keys=()):
        raise BatchWriteError("throttled", unwritten=1, report=BatchWriteReport())

    monkeypatch.setattr(repo, "write_totals", refuse)
    # WHEN the batch is processed
    response = invoke(event)
    # THEN each record is a batch item failure, so Lambda retries them
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == \
        sequence_numbers(event)
    assert totals_in(dynamodb) == {}



def test_a_minute_whose_partials_cannot_be_read_fails_only_its_records(dynamodb, monkeypatch):
    # GIVEN partials of five devices' minutes, read concurrently, and one device's read
    # failing
    keys = [BucketKey(f"dev-0000{n}", "site-a", "temperature_c", MINUTE) for n in range(5)]
    written = put(dynamodb, *[partial_of(key, [str(n)], "shard-0", MINUTE)
                              for n, key in enumerate(keys)])
    event = stream_event(inserts(written))
    repo = repository.default_repository()
    read = repo.minute_partials

    def failing_for_dev_2(minute):
        if minute.device_id == "dev-00002":
            raise RuntimeError("read timed out")
        return read(minute)

    monkeypatch.setattr(repo, "minute_partials", failing_for_dev_2)
    # WHEN the batch is processed
    response = invoke(event)
    # THEN only that device's record is a batch item failure, and the others' totals exist
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == \
        [sequence_numbers(event)[2]]
    assert sorted(pk for pk, _ in totals_in(dynamodb)) == [
        f"DM#dev-0000{n}#temperature_c" for n in (0, 1, 3, 4)]

def test_a_missing_table_name_fails_fast(monkeypatch):
    # GIVEN no AGGREGATES_TABLE
    # WHEN the configuration is read
    # THEN a one-line error names the variable
    with pytest.raises(rollup_config.ConfigError, match="AGGREGATES_TABLE"):
        rollup_config.RollupConfig.from_environ({})


def markers_in(client):
    return {(item["PK"], item["SK"]): item for item in scan_items(client, TABLE)
            if item["kind"] == "pending"}


def test_totals_are_indexed_by_hour(dynamodb):
    # GIVEN a partial
    written = put(dynamodb, partial_of(KEY, ["1"], "shard-0", MINUTE))
    # WHEN it is rolled up
    invoke(stream_event(inserts(written)))
    # THEN its total carries the by_hour index keys (sharded by device); the partial not
    total = totals_in(dynamodb)[("DM#dev-00001#temperature_c", "T#2026-01-01T00:00")]
    shard = hour_index_shard("dev-00001")
    assert 0 <= shard < 8
    assert total["GSI1PK"] == f"H#2026-01-01T00#{shard}"
    assert total["GSI1SK"] == "2026-01-01T00:00#dev-00001#temperature_c"
    partial = next(i for i in scan_items(dynamodb, TABLE) if i["kind"] == "partial")
    assert "GSI1PK" not in partial


def test_written_totals_mark_their_hours_pending_in_their_devices_shards(dynamodb):
    # GIVEN partials of two devices in different marker shards in one hour, and of one of
    # them in the next hour
    other = "dev-00002"
    assert pending_shard(other) != pending_shard(KEY.device_id)
    later = BucketKey("dev-00001", "site-a", "temperature_c", MINUTE + 3600 + 120)
    written = put(dynamodb, partial_of(KEY, ["1"], "shard-0", MINUTE),
                  partial_of(BucketKey(other, "site-a", "temperature_c", MINUTE), ["3"],
                             "shard-0", MINUTE),
                  partial_of(later, ["2"], "shard-0", MINUTE + 3600))
    # WHEN they are rolled up
    invoke(stream_event(inserts(written)))
    markers = markers_in(dynamodb)
    # THEN each hour is marked in the shard of each device that has a total in it, with a
    # token and the time it was marked: the first hour in two partitions
    first, second = (f"RU#PENDING#{pending_shard(d)}" for d in (KEY.device_id, other))
    assert sorted(markers) == sorted([(first, "2026-01-01T00"), (second, "2026-01-01T00"),
                                      (first, "2026-01-01T01")])
    assert all(m["token"] and m["marked_at"] > MINUTE for m in markers.values())
    # AND re-delivering a partial re-marks its hour in its device's shard, with a new token
    invoke(stream_event(inserts(written[:1])))
    again = markers_in(dynamodb)
    assert again[(first, "2026-01-01T00")]["token"] != markers[(first, "2026-01-01T00")]["token"]
    assert again[(second, "2026-01-01T00")] == markers[(second, "2026-01-01T00")]


def test_marking_takes_hour_and_shard_pairs(dynamodb):
    # GIVEN the rollup's repository
    repo = repository.default_repository()
    # WHEN it is given hours without shards (the call before markers were sharded)
    # THEN it refuses them rather than guess a shard
    with pytest.raises(TypeError, match="pending_marks"):
        repo.mark_hours_pending(["2026-01-01T00"])
    # AND (hour, shard) pairs write one marker each, once however often a pair repeats
    repo.mark_hours_pending([("2026-01-01T00", 3), ("2026-01-01T00", 3), ("2026-01-01T00", 5)])
    assert sorted(markers_in(dynamodb)) == [("RU#PENDING#3", "2026-01-01T00"),
                                            ("RU#PENDING#5", "2026-01-01T00")]


def test_markers_are_written_only_after_the_totals(dynamodb, monkeypatch):
    # GIVEN a repository that records the order of its writes
    written = put(dynamodb, partial_of(KEY, ["1"], "shard-0", MINUTE))
    repo = repository.default_repository()
    calls: list[str] = []
    write_totals, mark = repo.write_totals, repo.mark_hours_pending
    monkeypatch.setattr(repo, "write_totals",
                        lambda *args: (calls.append("totals"), write_totals(*args))[1])
    monkeypatch.setattr(repo, "mark_hours_pending",
                        lambda hours: (calls.append("markers"), mark(hours))[1])
    # WHEN the batch is rolled up
    invoke(stream_event(inserts(written)))
    # THEN the marker follows the totals
    assert calls == ["totals", "markers"]


def test_a_failed_marker_write_retries_the_records(dynamodb, monkeypatch):
    # GIVEN totals that are written but whose hour cannot be marked
    written = put(dynamodb, partial_of(KEY, ["1"], "shard-0", MINUTE))
    event = stream_event(inserts(written))
    repo = repository.default_repository()

    def refuse(hours):
        raise BatchWriteError("throttled", unwritten=1, report=BatchWriteReport())

    monkeypatch.setattr(repo, "mark_hours_pending", refuse)
    # WHEN the batch is processed
    response = invoke(event)
    # THEN its records fail, so the retry rewrites the total and marks the hour
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == \
        sequence_numbers(event)
    assert markers_in(dynamodb) == {}


def test_markers_and_rollups_on_the_stream_trigger_no_work(dynamodb):
    # GIVEN stream records of a marker and a roll-up
    records = [stream_record(pending_marker_item("2026-01-01T00", "t", 1, shard=2)),
               stream_record(rollup_item("site", "temperature_c", 3600, MINUTE, stats("1"),
                                         minutes=1, devices=1, site="site-a"))]
    # WHEN delivered
    response = invoke(stream_event(records))
    # THEN nothing is written (no totals, no new markers) and nothing fails
    assert response == {"batchItemFailures": []}
    assert totals_in(dynamodb) == {} and markers_in(dynamodb) == {}


# -- exactly once per reading ------------------------------------------------------------


@pytest.fixture
def quarantine(dynamodb, monkeypatch):
    """A quarantine table the rollup is configured with."""
    create_aggregates_table(dynamodb, "quarantine")
    monkeypatch.setenv("QUARANTINE_TABLE", "quarantine")
    rollup_config.get_config.cache_clear()
    repository.default_repository.cache_clear()
    yield "quarantine"
    dynamodb.delete_table(TableName="quarantine")
    rollup_config.get_config.cache_clear()
    repository.default_repository.cache_clear()


def test_copies_of_readings_in_several_partials_are_summed_once(dynamodb):
    # GIVEN two windows' partials of one minute sharing two readings (a producer retry)
    written = put(dynamodb, partial_of(KEY, ["1", "2", "3"], "shard-0", MINUTE, seqs=[1, 2, 3]),
                  partial_of(KEY, ["2", "3", "4"], "shard-0", MINUTE + 10, seqs=[2, 3, 4]))
    # WHEN they are rolled up
    invoke(stream_event(inserts(written)))
    # THEN the total holds the four readings once each, and says two copies were dropped
    total = totals_in(dynamodb)[("DM#dev-00001#temperature_c", "T#2026-01-01T00:00")]
    assert stats_from_item(total) == stats("1", "2", "3", "4")
    assert (total["duplicates"], total["conflicts"], total["partials"]) == (2, 0, 2)


def test_the_losing_version_of_a_conflict_is_quarantined_once(dynamodb, quarantine):
    # GIVEN a reading identity with two contents in two partials of one minute
    kept = reading(KEY, "20.5", seq=9, offset_ms=100)
    lost = reading(KEY, "99", seq=9, offset_ms=200)
    written = put(dynamodb, partial_from_entries(KEY.device_id, MINUTE, [kept], "s-0", MINUTE),
                  partial_from_entries(KEY.device_id, MINUTE, [lost], "s-1", MINUTE))
    # WHEN they are rolled up, twice (a re-delivery)
    event = stream_event(inserts(written))
    assert invoke(event) == {"batchItemFailures": []}
    invoke(event)
    # THEN only the kept version is summed, and the total counts one conflict
    total = totals_in(dynamodb)[("DM#dev-00001#temperature_c", "T#2026-01-01T00:00")]
    assert stats_from_item(total) == stats("20.5") and total["conflicts"] == 1
    # AND the loser sits in the quarantine table once, as a v1 record with its reason
    (item,) = scan_items(dynamodb, quarantine)
    assert item["PK"] == "C#dev-00001#0#9" and item["reason"].startswith("conflict")
    assert json.loads(base64.b64decode(item["data_b64"])) == {
        "v": 1, "device_id": "dev-00001", "site": "site-a", "ts": MINUTE * 1000 + 200,
        "seq": 9, "metrics": {"temperature_c": 99}}


def test_a_total_left_without_readings_is_deleted(dynamodb, quarantine):
    # GIVEN a total written when only one version of a reading had arrived
    humidity = BucketKey(KEY.device_id, KEY.site, "humidity_pct", MINUTE)
    early = put(dynamodb, partial_from_entries(KEY.device_id, MINUTE, [
        reading(humidity, "50", seq=1, offset_ms=500)], "s-0", MINUTE))
    invoke(stream_event(inserts(early)))
    assert ("DM#dev-00001#humidity_pct", "T#2026-01-01T00:00") in totals_in(dynamodb)
    # WHEN the version that wins (earlier event time, no humidity) arrives
    late = put(dynamodb, partial_from_entries(KEY.device_id, MINUTE, [
        reading(KEY, "21", seq=1, offset_ms=100)], "s-0", MINUTE + 10))
    invoke(stream_event(inserts(late)))
    # THEN the humidity total is gone and the temperature total holds the kept reading
    assert set(totals_in(dynamodb)) == {("DM#dev-00001#temperature_c", "T#2026-01-01T00:00")}


def test_a_minute_read_from_two_sites_keeps_each_sites_share(dynamodb):
    # GIVEN a device that moved from site-a to site-b within the minute
    written = put(dynamodb, partial_from_entries(KEY.device_id, MINUTE, [
        reading(KEY, "1", seq=1), reading(KEY, "10", seq=2, offset_ms=30_000, site="site-b")],
        "s-0", MINUTE))
    # WHEN rolled up / THEN the total is the whole minute's, with each site's share beside it
    invoke(stream_event(inserts(written)))
    total = totals_in(dynamodb)[("DM#dev-00001#temperature_c", "T#2026-01-01T00:00")]
    assert stats_from_item(total) == stats("1", "10") and total["site"] == "site-a"
    assert {site: shares["sum"] for site, shares in total["sites"].items()} == {
        "site-a": Decimal("1"), "site-b": Decimal("10")}
