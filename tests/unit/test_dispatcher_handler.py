"""The dispatcher handler: KPL records in, async Invoke payloads out per route, invalid
records quarantined, and exactly the Kinesis records whose hand-off failed reported.

The workers are a recording Lambda client (tests/factories/fanout.py); the quarantine
table lives on the session's embedded AWS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from lambdas.dispatcher import config as dispatcher_config
from lambdas.dispatcher import handler as dispatcher
from lambdas.dispatcher import repository
from lambdas.shared.quarantine import quarantine_key
from lambdas.shared.telemetry import decode
from shardline.local.embedded import EmbeddedAws
from tests.factories.dynamodb import create_aggregates_table, scan_items
from tests.factories.fanout import (
    WORKERS,
    RecordingLambda,
    dispatcher_environ,
    kinesis_event,
)
from tests.factories.kinesis import KinesisShard, lambda_context
from tests.factories.telemetry import malformed_json, telemetry_record

STATE, ALERTS = WORKERS["device_state"], WORKERS["alerts"]


@pytest.fixture
def workers(embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[RecordingLambda, Any, str]]:
    """The dispatcher's environment, a recording Lambda client, a quarantine table."""
    table = f"quarantine-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    create_aggregates_table(client, table)
    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    for name, value in dispatcher_environ(QUARANTINE_TABLE=table).items():
        monkeypatch.setenv(name, value)
    lambda_client = RecordingLambda()
    _reset()
    monkeypatch.setattr(repository, "default_invoker",
                        lambda: repository.WorkerInvoker(4, client=lambda_client))
    yield lambda_client, client, table
    _reset()
    client.delete_table(TableName=table)


def _reset() -> None:
    dispatcher_config.get_config.cache_clear()
    repository.default_quarantine_writer.cache_clear()


def test_records_reach_the_workers_their_routes_name(workers: tuple) -> None:
    lambda_client, dynamodb, table = workers
    # GIVEN a KPL aggregate of three readings (one invalid) and a plain record
    shard = KinesisShard()
    hot = telemetry_record("dev-1", site="plant-a", metrics={"temperature_c": 85})
    cold = telemetry_record("dev-2", site="plant-b", metrics={"temperature_c": 5})
    battery = telemetry_record("dev-3", site="plant-a", metrics={"battery_v": 3.1})
    aggregated = shard.aggregated_record([hot, malformed_json(), cold])
    plain = shard.record(battery)
    # WHEN the dispatcher handles them
    response = dispatcher.lambda_handler(kinesis_event([aggregated, plain]), lambda_context())
    # THEN nothing failed; device state got every valid reading, alerts only plant-a's
    # temperatures, in payloads of the documented shape
    assert response == {"batchItemFailures": []}
    assert [decode(b) for b in lambda_client.user_records_to(STATE)] == [hot, cold, battery]
    assert [decode(b) for b in lambda_client.user_records_to(ALERTS)] == [hot]
    first = lambda_client.payloads_to(STATE)[0]
    assert first["source"] == "shardline.dispatcher"
    assert first["shardId"] == shard.shard_id
    assert first["eventSourceARN"] == shard.stream_arn
    assert first["records"][0]["sequenceNumber"] == aggregated["kinesis"]["sequenceNumber"]
    assert [r["subSequenceNumber"] for r in first["records"]] == [0, 2, None]
    # AND the invalid user record is quarantined under the aggregator's key
    items = scan_items(dynamodb, table)
    key = quarantine_key(shard.shard_id, aggregated["kinesis"]["sequenceNumber"], 1)
    assert [(i["PK"], i["SK"]) for i in items] == [(key["PK"], key["SK"])]
    assert items[0]["reason"].startswith("decode")


def test_only_the_records_of_a_failed_hand_off_are_reported(workers: tuple) -> None:
    lambda_client, _, _ = workers
    # GIVEN alerts throttles, and three records of which only the middle one is for alerts
    lambda_client.throttled.add(ALERTS)
    shard = KinesisShard()
    records = shard.records([
        telemetry_record("dev-1", site="plant-b"),
        telemetry_record("dev-2", site="plant-a"),
        telemetry_record("dev-3", site="plant-b"),
    ])
    # WHEN the dispatcher handles them
    response = dispatcher.lambda_handler(kinesis_event(records), lambda_context())
    # THEN exactly that record is reported: its device-state copy will be sent again,
    # which the idempotent worker ignores
    assert response == {"batchItemFailures": [
        {"itemIdentifier": records[1]["kinesis"]["sequenceNumber"]}]}
    assert len(lambda_client.user_records_to(STATE)) == 3


def test_a_non_202_answer_is_a_failed_hand_off(workers: tuple) -> None:
    lambda_client, _, _ = workers
    # GIVEN device state answers 200 (a synchronous answer is not a queued event)
    lambda_client.status[STATE] = 200
    records = KinesisShard().records([telemetry_record("dev-1", site="plant-b")])
    # WHEN the dispatcher handles them THEN the record is reported
    response = dispatcher.lambda_handler(kinesis_event(records), lambda_context())
    assert response["batchItemFailures"] == [
        {"itemIdentifier": records[0]["kinesis"]["sequenceNumber"]}]


def test_payloads_stay_under_the_configured_limit(workers: tuple,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_client, _, _ = workers
    # GIVEN a 4 KiB payload limit and 300 readings in KPL aggregates
    monkeypatch.setenv("MAX_PAYLOAD_BYTES", "4096")
    _reset()
    shard = KinesisShard()
    readings = [telemetry_record(f"dev-{i % 7}", seq=i, site="plant-b") for i in range(300)]
    records = [shard.aggregated_record(readings[i:i + 50]) for i in range(0, 300, 50)]
    # WHEN the dispatcher handles them
    response = dispatcher.lambda_handler(kinesis_event(records), lambda_context())
    # THEN every reading went out once, in payloads of at most 4 KiB
    assert response == {"batchItemFailures": []}
    assert [decode(b) for b in lambda_client.user_records_to(STATE)] == readings
    sizes = [size for _, _, size in lambda_client.calls]
    assert len(sizes) > 5 and max(sizes) <= 4096
