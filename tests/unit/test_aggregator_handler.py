"""Aggregator handler end to end, in-process against embedded DynamoDB (moto)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws

from lambdas.aggregator import config as aggregator_config
from lambdas.aggregator import handler as aggregator_handler
from lambdas.aggregator import repository
from lambdas.aggregator.handler import BatchHeadFailed
from lambdas.aggregator.window_state import WindowAggregate
from lambdas.shared.dynamo import BatchWriteError
from lambdas.shared.partials import totals_from_partials
from tests.factories.dynamodb import create_aggregates_table, scan_items
from tests.factories.kinesis import (
    KinesisShard,
    lambda_context,
    run_window,
    tumbling_window_event,
)
from tests.factories.telemetry import (
    INVALID_RECORDS,
    device_series,
    expected_stats,
    fleet_records,
    malformed_json,
    telemetry_record,
    unknown_version,
)

TABLE = "aggregates"
handle = aggregator_handler.lambda_handler


@pytest.fixture(scope="module")
def aws_session():
    """Embedded AWS for the module: dummy credentials, no endpoint override, the function's
    environment. The handler's repository (and its client) is created once, as in Lambda."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AGGREGATES_TABLE", TABLE)
        patch.setenv("WRITE_BASE_DELAY_MS", "0")
        aggregator_config.get_config.cache_clear()
        repository.default_repository.cache_clear()
        with mock_aws():
            yield boto3.session.Session(region_name="us-east-1")
        aggregator_config.get_config.cache_clear()
        repository.default_repository.cache_clear()


@pytest.fixture
def dynamodb(aws_session):
    """An empty aggregates table; the configuration is re-read by each test."""
    aggregator_config.get_config.cache_clear()
    client = aws_session.client("dynamodb")
    create_aggregates_table(client, TABLE)
    yield client
    client.delete_table(TableName=TABLE)
    aggregator_config.get_config.cache_clear()


@pytest.fixture
def log_lines():
    """The handler's structured log lines, parsed."""
    stream = io.StringIO()
    handler = aggregator_handler.logger.registered_handler
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def state_totals(state):
    aggregate = WindowAggregate.from_state(state)
    return totals_from_partials(aggregate.partial_items("s", 0))


def failed_ids(response):
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_a_window_of_several_invocations_writes_exact_partials(dynamodb):
    # GIVEN a fleet's records arriving in one shard window over three invocations
    shard = KinesisShard()
    records = fleet_records(devices=4, per_device=45, interval_ms=2_000)
    kinesis_records = shard.records(records)
    batches = [kinesis_records[:50], kinesis_records[50:120], kinesis_records[120:170]]

    # WHEN the handler runs them with state carried, then the final invoke with the rest
    responses = run_window(handle, batches, final_batch=kinesis_records[170:])

    # THEN each non-final invocation returned state and no failure
    assert all(response["batchItemFailures"] == [] for response in responses)
    assert all(response["state"] for response in responses[:-1])
    assert responses[1]["state"]["aggregated"] == 120
    # AND the final one wrote the partials and restarted the state
    assert responses[-1]["state"] == {}
    items = scan_items(dynamodb, TABLE)
    assert totals_from_partials(items) == expected_stats(records)
    assert {item["shard_id"] for item in items} == {shard.shard_id}
    assert all("segment" not in item for item in items)


def test_replaying_a_window_rewrites_the_same_items(dynamodb):
    # GIVEN a window that was processed and flushed once
    shard = KinesisShard()
    records = fleet_records(devices=3, per_device=20)
    kinesis_records = shard.records(records)
    batches = [kinesis_records[:25], kinesis_records[25:]]
    run_window(handle, batches)
    first = scan_items(dynamodb, TABLE)

    # WHEN the same window is delivered again, split differently
    again = [kinesis_records[:7], kinesis_records[7:40]]
    run_window(handle, again, final_batch=kinesis_records[40:])

    # THEN the same items hold the same numbers: nothing counted twice
    assert scan_items(dynamodb, TABLE) == first
    assert totals_from_partials(first) == expected_stats(records)


def test_invalid_records_are_quarantined_not_failed(dynamodb):
    # GIVEN a batch mixing valid records with every kind of invalid one
    shard = KinesisShard()
    valid = device_series("dev-1", 5)
    payloads = [valid[0], *INVALID_RECORDS.values(), *valid[1:]]
    event = tumbling_window_event(shard.records(payloads))

    # WHEN the handler runs
    response = handle(event, lambda_context())

    # THEN nothing failed, the invalid ones are counted, the valid ones aggregated
    assert response["batchItemFailures"] == []
    assert response["state"]["quarantined"] == len(INVALID_RECORDS)
    assert response["state"]["aggregated"] == 5
    assert state_totals(response["state"]) == expected_stats(valid)


def test_quarantine_is_logged_with_shard_sequence_number_and_reason(dynamodb, log_lines):
    # GIVEN a record of an unknown schema version
    shard = KinesisShard(shard_id="shardId-000000000003")
    record = shard.record(unknown_version(9), partition_key="dev-9")

    # WHEN the handler runs
    handle(tumbling_window_event([record]), lambda_context())

    # THEN a structured warning names shard, sequence number, device and reason
    lines = log_lines()
    [warning] = [line for line in lines if line.get("message") == "record quarantined"]
    assert warning["level"] == "WARNING"
    assert warning["shard_id"] == "shardId-000000000003"
    assert warning["sequence_number"] == record["kinesis"]["sequenceNumber"]
    assert warning["device_id"] == "dev-9"
    assert warning["reason"].startswith("schema")
    [summary] = [line for line in lines if line.get("message") == "window invocation"]
    assert summary["quarantined"] == 1 and summary["aggregated"] == 0


def test_a_record_that_raises_is_reported_and_kept_out_of_the_state(dynamodb, monkeypatch):
    # GIVEN five records of which the third makes the fold raise
    shard = KinesisShard()
    records = device_series("dev-1", 5)
    kinesis_records = shard.records(records)
    poison = kinesis_records[2]["kinesis"]["sequenceNumber"]
    original = WindowAggregate.commit

    def commit(self, contribution):
        if contribution.sequence_number == poison:
            raise RuntimeError("unexpected")
        original(self, contribution)

    monkeypatch.setattr(WindowAggregate, "commit", commit)

    # WHEN the handler runs the batch
    response = handle(tumbling_window_event(kinesis_records), lambda_context())

    # THEN the poison record and the ones after it are reported (Lambda re-delivers from the
    # lowest), and the state holds exactly the two records before it
    assert failed_ids(response) == [r["kinesis"]["sequenceNumber"] for r in kinesis_records[2:]]
    assert response["state"]["aggregated"] == 2
    assert response["state"]["last_seq"] == kinesis_records[1]["kinesis"]["sequenceNumber"]
    assert state_totals(response["state"]) == expected_stats(records[:2])


def test_retry_after_a_failure_continues_the_window_exactly(dynamodb, monkeypatch):
    # GIVEN an invocation in which record 3 failed once
    shard = KinesisShard()
    records = device_series("dev-1", 6)
    kinesis_records = shard.records(records)
    poison = kinesis_records[3]["kinesis"]["sequenceNumber"]
    original = WindowAggregate.commit
    failures = {"left": 1}

    def commit(self, contribution):
        if contribution.sequence_number == poison and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("transient")
        original(self, contribution)

    monkeypatch.setattr(WindowAggregate, "commit", commit)
    first = handle(tumbling_window_event(kinesis_records), lambda_context())

    # WHEN Lambda retries from the lowest failed record with the returned state (and also
    # re-sends a record already in the state), then the window closes
    lowest = failed_ids(first)[0]
    retry = [r for r in kinesis_records if int(r["kinesis"]["sequenceNumber"]) >= int(lowest)]
    responses = run_window(handle, [[kinesis_records[2], *retry]], state=first["state"])

    # THEN every record is counted exactly once
    assert responses[0]["batchItemFailures"] == []
    assert totals_from_partials(scan_items(dynamodb, TABLE)) == expected_stats(records)


def test_a_failure_at_the_head_of_the_batch_fails_the_invocation_for_bisect(
        dynamodb, monkeypatch):
    # GIVEN a batch whose first record fails (nothing before it can be checkpointed)
    shard = KinesisShard()
    kinesis_records = shard.records(device_series("dev-1", 3))
    monkeypatch.setattr(WindowAggregate, "commit", lambda self, c: (_ for _ in ()).throw(
        RuntimeError("always")))

    # WHEN the handler runs it
    # THEN the invocation fails (a function error, which Lambda bisects; a partial response
    # naming the first record would only be retried whole, dragging the records behind it
    # to the failure destination), and nothing was written
    with pytest.raises(BatchHeadFailed, match=kinesis_records[0]["kinesis"]["sequenceNumber"]):
        handle(tumbling_window_event(kinesis_records, state={}), lambda_context())
    assert scan_items(dynamodb, TABLE) == []


def test_final_invoke_records_are_folded_before_the_flush(dynamodb):
    # GIVEN a window whose only records arrive with the final invoke
    shard = KinesisShard()
    records = device_series("dev-1", 4)

    # WHEN the final invoke runs
    response = handle(
        tumbling_window_event(shard.records(records), is_final=True), lambda_context()
    )

    # THEN its records are in the written partials
    assert response == {"state": {}, "batchItemFailures": []}
    assert totals_from_partials(scan_items(dynamodb, TABLE)) == expected_stats(records)


def test_final_invoke_with_a_failure_writes_a_segment_the_retry_cannot_overwrite(
    dynamodb, monkeypatch
):
    # GIVEN a window whose final invoke fails at its last record once
    shard = KinesisShard()
    records = device_series("dev-1", 4)
    kinesis_records = shard.records(records)
    poison = kinesis_records[3]["kinesis"]["sequenceNumber"]
    original = WindowAggregate.commit
    failures = {"left": 1}

    def commit(self, contribution):
        if contribution.sequence_number == poison and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("transient")
        original(self, contribution)

    monkeypatch.setattr(WindowAggregate, "commit", commit)
    final = handle(tumbling_window_event(kinesis_records, is_final=True), lambda_context())
    assert failed_ids(final) == [poison] and final["state"] == {}

    # WHEN the failed record is re-delivered as a continuation of the window (fresh state)
    handle(tumbling_window_event([kinesis_records[3]], is_final=True), lambda_context())

    # THEN both pieces are stored under distinct keys and the totals are exact
    items = scan_items(dynamodb, TABLE)
    assert {item.get("segment") for item in items} == {
        None, kinesis_records[0]["kinesis"]["sequenceNumber"]
    }
    assert totals_from_partials(items) == expected_stats(records)


def test_early_terminated_window_and_its_continuation_both_count(dynamodb):
    # GIVEN a window Lambda terminated early (state cap), then continued with fresh state
    shard = KinesisShard()
    records = device_series("dev-1", 10)
    kinesis_records = shard.records(records)
    first_piece = handle(
        tumbling_window_event(kinesis_records[:6], is_final=True, terminated_early=True),
        lambda_context(),
    )

    # WHEN the continuation of the same window closes normally
    run_window(handle, [kinesis_records[6:8]], final_batch=kinesis_records[8:])

    # THEN no partial overwrote another: totals equal the ground truth
    assert first_piece["state"] == {}
    assert totals_from_partials(scan_items(dynamodb, TABLE)) == expected_stats(records)


def test_kpl_aggregated_records_are_deaggregated(dynamodb):
    # GIVEN KPL aggregates carrying a fleet's records and one invalid user record
    shard = KinesisShard()
    records = fleet_records(devices=3, per_device=10)
    aggregated = [
        shard.aggregated_record(records[:15]),
        shard.aggregated_record([*records[15:], malformed_json()]),
    ]

    # WHEN the window runs
    responses = run_window(handle, [aggregated[:1]], final_batch=aggregated[1:])

    # THEN every user record is aggregated or quarantined, none failed
    assert all(response["batchItemFailures"] == [] for response in responses)
    assert totals_from_partials(scan_items(dynamodb, TABLE)) == expected_stats(records)


def test_failed_flush_fails_the_invocation_so_it_is_retried(dynamodb, monkeypatch):
    # GIVEN a final invoke whose writes cannot complete
    def failing_write(items):
        raise BatchWriteError("3 of 3 items were not written", unwritten=3, report=None)

    monkeypatch.setattr(repository, "write_partials", failing_write)
    event = tumbling_window_event(KinesisShard().records([telemetry_record()]), is_final=True)

    # WHEN / THEN the handler raises (a function error: Lambda retries with the old state)
    with pytest.raises(BatchWriteError):
        handle(event, lambda_context())


def test_missing_table_configuration_is_a_clear_error(dynamodb, monkeypatch):
    # GIVEN a function deployed without AGGREGATES_TABLE
    monkeypatch.delenv("AGGREGATES_TABLE")
    aggregator_config.get_config.cache_clear()

    # WHEN / THEN the first invocation says what is missing
    with pytest.raises(aggregator_config.ConfigError, match="AGGREGATES_TABLE"):
        handle(tumbling_window_event([]), lambda_context())


def test_empty_final_invoke_writes_nothing(dynamodb):
    # GIVEN a window with no records / WHEN its final invoke runs / THEN no item, empty state
    response = handle(tumbling_window_event([], is_final=True), lambda_context())
    assert response == {"state": {}, "batchItemFailures": []}
    assert scan_items(dynamodb, TABLE) == []


def test_each_invocation_publishes_its_counts_as_metrics(dynamodb, capsys):
    # GIVEN a batch of three valid records and one invalid one
    shard = KinesisShard()
    event = tumbling_window_event(shard.records([*device_series("dev-1", 3), malformed_json()]))

    # WHEN the handler runs
    handle(event, lambda_context())

    # THEN one EMF document carries this invocation's counts
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()
                 if line.startswith('{"_aws"')]
    [document] = documents
    assert document["RecordsAggregated"] == [3.0]
    assert document["RecordsQuarantined"] == [1.0]
    assert document["KinesisRecordsFailed"] == [0.0]
    assert document["WindowStateBytes"][0] > 0
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "shardline"


def test_repository_creates_its_client_on_first_write_and_reuses_it(dynamodb):
    # GIVEN a repository just configured (as at import / cold start)
    repo = repository.AggregatesRepository(TABLE)
    assert repo._client is None

    # WHEN it writes twice
    repo.write_partials([{"PK": "DM#d#m", "SK": "P#x", "count": 1}])
    client = repo.client
    repo.write_partials([{"PK": "DM#d#m", "SK": "P#y", "count": 1}])

    # THEN one client was created, on first use, and reused
    assert repo.client is client
    assert len(scan_items(dynamodb, TABLE)) == 2


def test_a_large_window_is_sealed_into_pieces_at_the_same_records_however_batched(
        dynamodb, monkeypatch):
    # GIVEN a window whose readings outgrow a 2 KB seal threshold several times
    monkeypatch.setenv("WINDOW_SEAL_BYTES", "2000")
    aggregator_config.get_config.cache_clear()
    shard = KinesisShard()
    records = fleet_records(devices=6, per_device=40, interval_ms=200)
    kinesis_records = shard.records(records)

    # WHEN it is processed in batches of 50, then again (a replay) in batches of 7 and 90
    first_run = run_window(handle, [kinesis_records[i:i + 50]
                                    for i in range(0, len(kinesis_records), 50)])
    first = scan_items(dynamodb, TABLE)
    run_window(handle, [kinesis_records[:7], kinesis_records[7:97], kinesis_records[97:]])

    # THEN the state Lambda carried never passed the threshold (plus the state's counters)
    assert all(len(json.dumps(r["state"])) < 2000 + 200 for r in first_run)
    # AND the window was written in several pieces, each under its first record's segment
    segments = {item.get("segment") for item in first}
    assert len(segments) > 3 and None not in segments
    # AND the replay, batched differently, rewrote exactly the same items: no stale piece
    assert scan_items(dynamodb, TABLE) == first
    # AND every reading is counted once
    assert totals_from_partials(first) == expected_stats(records)
