"""`shardline devices`: device states from the device-state table's items, online or
offline against the threshold at read time, as table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from lambdas.device_state import config as state_config
from lambdas.device_state import repository
from lambdas.device_state.handler import lambda_handler
from shardline import devices
from shardline.cli import main
from shardline.local.embedded import EmbeddedAws
from tests.factories.dynamodb import create_aggregates_table
from tests.factories.fanout import dispatcher_payload
from tests.factories.kinesis import lambda_context
from tests.factories.telemetry import BASE_TS_MS, telemetry_record

NOW_S = BASE_TS_MS / 1000 + 600  # ten minutes after the sample telemetry starts


def test_a_device_silent_past_the_threshold_is_offline() -> None:
    # GIVEN one device seen 30 s ago and one seen 10 minutes ago
    items = [
        {"PK": "DEV#a", "SK": "STATE", "device_id": "a", "site": "s1",
         "ts_ms": Decimal((NOW_S - 30) * 1000)},
        {"PK": "DEV#a", "SK": "M#temperature_c", "device_id": "a", "metric": "temperature_c",
         "value": Decimal("21.40")},
        {"PK": "DEV#b", "SK": "STATE", "device_id": "b", "site": "s2", "ts_ms": BASE_TS_MS},
        {"PK": "DEV#b", "SK": "M#battery_v", "device_id": "b", "metric": "battery_v",
         "value": Decimal("3.3")},
    ]
    # WHEN rows are made with a 300 s threshold
    rows = devices.rows(devices.states_from_items(items), offline_after_s=300, now_s=NOW_S)
    # THEN a is online, b offline; values exactly as written; metric columns are the union
    assert [(r["device"], r["status"], r["silent_s"]) for r in rows] == [
        ("a", "online", 30), ("b", "offline", 600)]
    assert rows[0]["temperature_c"] == "21.40" and rows[0]["battery_v"] == ""
    assert rows[1]["last_seen"] == "2025-11-23T12:13:00.000Z"


@pytest.fixture
def state_table(embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[tuple[Any, str]]:
    table = f"device-state-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    create_aggregates_table(client, table)
    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    monkeypatch.setenv("DEVICE_STATE_TABLE", table)
    state_config.get_config.cache_clear()
    repository.default_repository.cache_clear()
    yield client, table
    state_config.get_config.cache_clear()
    repository.default_repository.cache_clear()
    client.delete_table(TableName=table)


def test_the_command_lists_devices_as_csv_and_json(state_table: tuple[Any, str],
                                                   embedded_aws: EmbeddedAws) -> None:
    _, table = state_table
    # GIVEN two devices' readings applied by the worker
    lambda_handler(dispatcher_payload([
        telemetry_record("dev-1", seq=1, metrics={"temperature_c": 20}),
        telemetry_record("dev-2", seq=1, site="plant-b", metrics={"temperature_c": 30})]),
        lambda_context("device-state"))
    args = ["devices", "--table", table, "--endpoint", embedded_aws.endpoint_url,
            "--offline-after", "60"]
    # WHEN `shardline devices` runs as JSON and as CSV
    as_json = CliRunner().invoke(main, [*args, "--format", "json"])
    as_csv = CliRunner().invoke(main, [*args, "--format", "csv"])
    # THEN both show each device (offline: the sample readings are old) with its values
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert [(r["device"], r["site"], r["status"], r["temperature_c"]) for r in rows] == [
        ("dev-1", "plant-a", "offline", "20"), ("dev-2", "plant-b", "offline", "30")]
    # (silent_s follows the wall clock, which may tick between the two runs)
    assert [{k: v for k, v in row.items() if k != "silent_s"}
            for row in csv.DictReader(io.StringIO(as_csv.stdout))] == [
        {k: str(v) for k, v in row.items() if k != "silent_s"} for row in rows]
