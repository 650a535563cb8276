"""Quarantine store: the aggregator writes every rejected user record to the quarantine
table (in-process, embedded DynamoDB), and ``shardline quarantine list`` shows them."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal

import boto3
import pytest
from click.testing import CliRunner

from lambdas.aggregator import config as aggregator_config
from lambdas.aggregator import handler as aggregator_handler
from lambdas.aggregator import repository
from lambdas.aggregator.envelope import InvalidWindowEvent, WindowInvocation
from lambdas.shared.conflicts import conflict_item
from lambdas.shared.partials import totals_from_partials
from lambdas.shared.quarantine import (
    MAX_STORED_DATA_BYTES,
    QuarantineContext,
    Quarantined,
    quarantine_item,
    quarantine_key,
)
from lambdas.shared.readings import ReadingEntry
from shardline.cli import main
from shardline.quarantine import QuarantineReader
from tests.factories.aggregator_env import (
    AGGREGATES,
    QUARANTINE,
    aggregator_tables,
    reset_aggregator_caches,
)
from tests.factories.dynamodb import create_aggregates_table, scan_items
from tests.factories.kinesis import KinesisShard, run_window
from tests.factories.telemetry import (
    INVALID_RECORDS,
    expected_stats,
    fleet_records,
    malformed_json,
    telemetry_bytes,
    telemetry_record,
    unknown_version,
)

handle = aggregator_handler.lambda_handler


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """Embedded DynamoDB with the aggregates and quarantine tables, and the function's
    environment naming both."""
    with aggregator_tables(monkeypatch) as client:
        yield client


def quarantined_items(client) -> list[dict]:
    return scan_items(client, QUARANTINE)


def test_every_invalid_user_record_is_written_with_where_and_why(aws):
    # GIVEN a window mixing valid records with one of every kind of invalid record
    shard = KinesisShard()
    valid = fleet_records(devices=2, per_device=5)
    records = shard.records(valid) + shard.records(list(INVALID_RECORDS.values()))

    # WHEN the handler runs the window (one batch, then the final invoke)
    responses = run_window(handle, [records])

    # THEN nothing failed, the valid records are aggregated exactly
    assert all(response["batchItemFailures"] == [] for response in responses)
    assert totals_from_partials(scan_items(aws, AGGREGATES)) == expected_stats(valid)
    # AND each invalid record has one quarantine item keyed by shard and sequence number
    items = quarantined_items(aws)
    assert len(items) == len(INVALID_RECORDS)
    by_sequence = {item["sequence_number"]: item for item in items}
    for record, raw in zip(records[len(valid):], INVALID_RECORDS.values(), strict=True):
        sequence = record["kinesis"]["sequenceNumber"]
        item = by_sequence[sequence]
        assert item["PK"] == f"Q#{shard.shard_id}#{sequence}" and item["SK"] == "U#-"
        assert base64.b64decode(item["data_b64"]) == raw
        assert item["data_bytes"] == len(raw) and item["data_truncated"] is False
        assert item["shard_id"] == shard.shard_id
        assert item["reason"]
        assert float(item["arrival_time"]) == record["kinesis"]["approximateArrivalTimestamp"]
        assert item["expires_at"] > time.time() + 13 * 86_400


def test_kpl_sub_records_are_quarantined_by_sub_sequence_number(aws):
    # GIVEN one KPL aggregate holding a valid record between two invalid ones
    shard = KinesisShard()
    valid = telemetry_record("dev-00007")
    record = shard.aggregated_record([malformed_json(), valid, unknown_version(3)])

    # WHEN the window runs
    run_window(handle, [[record]])

    # THEN the two invalid sub-records are kept apart by their sub-sequence numbers
    items = quarantined_items(aws)
    assert [(item["SK"], item.get("sub_sequence_number")) for item in items] == [
        ("U#000000", 0), ("U#000002", 2)]
    assert totals_from_partials(scan_items(aws, AGGREGATES)) == expected_stats([valid])


def test_redelivering_a_window_rewrites_the_same_quarantine_items(aws):
    # GIVEN a window with quarantined records, processed once
    shard = KinesisShard()
    records = shard.records([telemetry_bytes(), malformed_json(), b"{}"])
    run_window(handle, [records])
    first = quarantined_items(aws)

    # WHEN the same records are delivered again (a retry, a replay), split differently
    run_window(handle, [records[:1], records[1:]])

    # THEN the same keys hold the same records: nothing is duplicated
    second = quarantined_items(aws)
    assert [(i["PK"], i["SK"]) for i in second] == [(i["PK"], i["SK"]) for i in first]
    assert len(second) == 2


def test_a_failing_quarantine_store_never_fails_the_invocation(aws, monkeypatch):
    # GIVEN the quarantine table is gone (or unwritable)
    monkeypatch.setenv("QUARANTINE_TABLE", "missing-table")
    reset_aggregator_caches()
    shard = KinesisShard()
    valid = fleet_records(devices=1, per_device=3)
    records = shard.records(valid) + shard.records([malformed_json()])

    # WHEN the window runs
    responses = run_window(handle, [records])

    # THEN the shard is not blocked: no failures, the valid records are aggregated
    assert all(response["batchItemFailures"] == [] for response in responses)
    assert totals_from_partials(scan_items(aws, AGGREGATES)) == expected_stats(valid)


def test_without_a_quarantine_table_records_are_only_counted(aws, monkeypatch):
    # GIVEN a function configured without QUARANTINE_TABLE
    monkeypatch.delenv("QUARANTINE_TABLE")
    reset_aggregator_caches()
    shard = KinesisShard()

    # WHEN an invalid record arrives
    responses = run_window(handle, [shard.records([malformed_json()])])

    # THEN it is counted in the state, and nothing is written anywhere
    assert responses[0]["state"]["quarantined"] == 1
    assert quarantined_items(aws) == []


def test_very_large_records_are_truncated_and_say_so():
    # GIVEN a quarantined record larger than a DynamoDB item can hold
    raw = b"x" * (MAX_STORED_DATA_BYTES + 10)
    record = Quarantined("decode: too big", "49590", None, "dev-1", raw)
    context = QuarantineContext("shardId-000000000000", None, now_s=1_000.0, retention_days=1)

    # WHEN it becomes an item
    item = quarantine_item(record, 999.5, context)

    # THEN the stored bytes are cut, the full length and the truncation are recorded
    assert len(base64.b64decode(item["data_b64"])) == MAX_STORED_DATA_BYTES
    assert item["data_bytes"] == len(raw) and item["data_truncated"] is True
    assert item["expires_at"] == 1_000 + 86_400
    assert (item["PK"], item["SK"]) == (
        quarantine_key("shardId-000000000000", "49590", None)["PK"], "U#-")


def test_reader_filters_by_arrival_and_expiry(aws):
    # GIVEN three quarantine items: recent, old, and expired
    context = QuarantineContext("shardId-000000000001", None, now_s=time.time(),
                                retention_days=14)
    now = time.time()
    items = [
        quarantine_item(Quarantined("schema: recent", "1", None, "d", b"{}"), now - 60, context),
        quarantine_item(Quarantined("schema: old", "2", None, "d", b"{}"), now - 7200, context),
        {**quarantine_item(Quarantined("schema: gone", "3", None, "d", b"{}"), now - 30,
                           context), "expires_at": int(now) - 1},
    ]
    repository.QuarantineRepository(QUARANTINE, client=aws).write_items(items)

    # WHEN listed since an hour ago
    records = QuarantineReader(QUARANTINE, aws).records(since_s=now - 3600)

    # THEN only the recent, unexpired one is listed
    assert [r.reason for r in records] == ["schema: recent"]


def test_quarantine_list_renders_table_csv_and_json(embedded_aws, monkeypatch):
    # GIVEN a quarantine table on the embedded AWS with two records
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url,
                          region_name="us-east-1")
    create_aggregates_table(client, "cli-quarantine")
    context = QuarantineContext("shardId-000000000000", None, now_s=time.time(),
                                retention_days=14)
    repository.QuarantineRepository("cli-quarantine", client=client).write_items([
        quarantine_item(Quarantined("decode: bad json", "11", None, "dev-1", b"{oops"),
                        time.time() - 5, context),
        quarantine_item(Quarantined("schema: v", "12", 3, "dev-2", b"{}"),
                        time.time() - 4, context),
    ])
    runner = CliRunner()
    base = ["quarantine", "list", "--table", "cli-quarantine", "--endpoint",
            embedded_aws.endpoint_url, "--since", "1h"]

    # WHEN listed in each format
    table = runner.invoke(main, base)
    as_json = runner.invoke(main, [*base, "--format", "json"])
    as_csv = runner.invoke(main, [*base, "--format", "csv"])

    # THEN every format lists both, in arrival order, with reason and position
    assert table.exit_code == 0, table.output
    assert "decode: bad json" in table.output and "schema: v" in table.output
    rows = json.loads(as_json.output)
    assert [(r["sequence_number"], r["sub_sequence"]) for r in rows] == [("11", "-"), ("12", 3)]
    assert base64.b64decode(rows[0]["data_b64"]) == b"{oops"
    assert as_csv.output.splitlines()[0].startswith("arrival,shard,sequence_number")
    assert len(as_csv.output.splitlines()) == 3


def test_quarantine_list_of_a_missing_table_is_a_one_line_error(embedded_aws):
    result = CliRunner().invoke(main, ["quarantine", "list", "--table", "nope",
                                       "--endpoint", embedded_aws.endpoint_url])
    assert result.exit_code == 3
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    assert "not found" in result.output


def test_quarantine_list_of_a_table_that_is_not_the_quarantine_is_a_one_line_error(
        embedded_aws):
    # GIVEN a table holding an item that is not a quarantined record (another table)
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url,
                          region_name="us-east-1")
    create_aggregates_table(client, "cli-not-quarantine")
    client.put_item(TableName="cli-not-quarantine",
                    Item={"PK": {"S": "DM#dev-1#temperature_c"}, "SK": {"S": "T#0"}})

    # WHEN it is listed as the quarantine
    result = CliRunner().invoke(main, ["quarantine", "list", "--table", "cli-not-quarantine",
                                       "--endpoint", embedded_aws.endpoint_url])

    # THEN the command says so in one line and fails, with no traceback
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a quarantined record" in lines[0]


def test_configuration_reads_quarantine_settings():
    # GIVEN the environment Terraform gives the aggregator
    environ = {"AGGREGATES_TABLE": "a", "QUARANTINE_TABLE": "q",
               "QUARANTINE_RETENTION_DAYS": "7"}

    # WHEN it is read
    config = aggregator_config.AggregatorConfig.from_environ(environ)

    # THEN the quarantine table and retention are set
    assert (config.quarantine_table, config.quarantine_retention_days) == ("q", 7)
    with pytest.raises(aggregator_config.ConfigError, match="QUARANTINE_RETENTION_DAYS"):
        aggregator_config.AggregatorConfig.from_environ({**environ,
                                                         "QUARANTINE_RETENTION_DAYS": "0"})


def test_a_replay_event_must_name_a_replay_segment():
    # GIVEN a window event whose replay marker is not replay-<sequence number>
    shard = KinesisShard()
    event = {"window": {"start": "2025-11-23T12:13:00Z", "end": "2025-11-23T12:13:10Z"},
             "shardId": shard.shard_id, "replay": {"segment": "P#oops"}}

    # WHEN parsed THEN it is refused; a proper one is accepted
    with pytest.raises(InvalidWindowEvent, match="replay segment"):
        WindowInvocation.from_event(event)
    event["replay"] = {"segment": "replay-4959"}
    assert WindowInvocation.from_event(event).replay_segment == "replay-4959"


def test_conflict_losers_are_listed_beside_rejected_records(aws):
    # GIVEN a rejected record and the losing version of a conflict in the quarantine table
    now = time.time()
    context = QuarantineContext("shardId-000000000001", None, now_s=now, retention_days=14)
    loser = ReadingEntry.of(boot=2, seq=5, ts_ms=1_763_899_980_500, site="plant-a",
                            metrics={"temperature_c": Decimal("99.5")})
    repository.QuarantineRepository(QUARANTINE, client=aws).write_items([
        quarantine_item(Quarantined("schema: bad", "7", None, "d", b"{}"), now - 60, context),
        conflict_item("dev-1", loser, now_s=now, retention_days=14),
    ])

    # WHEN listed
    records = QuarantineReader(QUARANTINE, aws).records()

    # THEN both are listed, the conflict with its device and the version as a v1 record
    assert [r.reason.split(":")[0] for r in records] == ["schema", "conflict"]
    conflict = records[1]
    assert (conflict.partition_key, conflict.shard_id, conflict.sequence_number) == (
        "dev-1", "", "")
    assert json.loads(base64.b64decode(conflict.data_b64)) == {
        "v": 1, "device_id": "dev-1", "site": "plant-a", "ts": 1_763_899_980_500, "seq": 5,
        "boot": 2, "metrics": {"temperature_c": 99.5}}
