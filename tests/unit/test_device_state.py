"""The device-state worker: latest reading per metric and last-seen per device, written
conditionally on (event time, seq) — order-insensitive and idempotent — on the session's
embedded DynamoDB."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

from lambdas.device_state import config as state_config
from lambdas.device_state import repository
from lambdas.device_state.handler import InvalidPayload, lambda_handler
from shardline.local.embedded import EmbeddedAws
from tests.factories.dynamodb import create_aggregates_table, scan_items
from tests.factories.fanout import dispatcher_payload
from tests.factories.kinesis import lambda_context
from tests.factories.telemetry import BASE_TS_MS, malformed_json, telemetry_record


@pytest.fixture
def state_table(embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[tuple[Any, str]]:
    table = f"device-state-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    create_aggregates_table(client, table)
    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    monkeypatch.setenv("DEVICE_STATE_TABLE", table)
    _reset()
    yield client, table
    _reset()
    client.delete_table(TableName=table)


def _reset() -> None:
    state_config.get_config.cache_clear()
    repository.default_repository.cache_clear()


def _state(client: Any, table: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(PK, SK) -> (ts_ms, seq, value or site) of every item."""
    return {(i["PK"], i["SK"]): (int(i["ts_ms"]), int(i["seq"]), i.get("value", i.get("site")))
            for i in scan_items(client, table)}


def _series(device: str, count: int) -> list:
    return [telemetry_record(device, ts=BASE_TS_MS + 1000 * n, seq=n,
                             metrics={"temperature_c": Decimal(20 + n), "battery_v": 3.5})
            for n in range(count)]


def test_the_newest_reading_wins_whatever_the_order(state_table: tuple[Any, str]) -> None:
    client, table = state_table
    # GIVEN two devices' readings in payloads of three, delivered in a shuffled order
    readings = _series("dev-1", 9) + _series("dev-2", 6)
    random.Random(7).shuffle(readings)
    payloads = [dispatcher_payload(readings[i:i + 3]) for i in range(0, len(readings), 3)]
    random.Random(8).shuffle(payloads)
    # WHEN the worker handles every payload
    for payload in payloads:
        lambda_handler(payload, lambda_context("device-state"))
    # THEN each device holds its newest reading, per metric and as last seen
    last1, last2 = BASE_TS_MS + 8000, BASE_TS_MS + 5000
    assert _state(client, table) == {
        ("DEV#dev-1", "STATE"): (last1, 8, "plant-a"),
        ("DEV#dev-1", "M#temperature_c"): (last1, 8, Decimal(28)),
        ("DEV#dev-1", "M#battery_v"): (last1, 8, Decimal("3.5")),
        ("DEV#dev-2", "STATE"): (last2, 5, "plant-a"),
        ("DEV#dev-2", "M#temperature_c"): (last2, 5, Decimal(25)),
        ("DEV#dev-2", "M#battery_v"): (last2, 5, Decimal("3.5")),
    }


def test_the_same_payload_twice_changes_nothing(state_table: tuple[Any, str]) -> None:
    client, table = state_table
    # GIVEN a payload already applied
    payload = dispatcher_payload(_series("dev-1", 4))
    first = lambda_handler(payload, lambda_context("device-state"))
    before = scan_items(client, table)
    # WHEN it is delivered again (async invoke is at least once)
    again = lambda_handler(payload, lambda_context("device-state"))
    # THEN every write is skipped as not newer and the items are unchanged
    assert first["applied"] == 3 and again["applied"] == 0
    assert again["skipped_older"] == 3
    assert scan_items(client, table) == before


def test_a_late_reading_sets_a_metric_newer_ones_lacked(state_table: tuple[Any, str]) -> None:
    client, table = state_table
    # GIVEN a newer reading without humidity has been applied
    newer = telemetry_record("dev-1", ts=BASE_TS_MS + 5000, seq=5,
                             metrics={"temperature_c": 30})
    lambda_handler(dispatcher_payload([newer]), lambda_context("device-state"))
    # WHEN an older reading with temperature and humidity arrives late
    older = telemetry_record("dev-1", ts=BASE_TS_MS, seq=1,
                             metrics={"temperature_c": 10, "humidity_pct": 40})
    lambda_handler(dispatcher_payload([older]), lambda_context("device-state"))
    # THEN temperature and last-seen stay the newer reading's; humidity is the late one's
    state = _state(client, table)
    assert state[("DEV#dev-1", "M#temperature_c")] == (BASE_TS_MS + 5000, 5, Decimal(30))
    assert state[("DEV#dev-1", "STATE")][:2] == (BASE_TS_MS + 5000, 5)
    assert state[("DEV#dev-1", "M#humidity_pct")] == (BASE_TS_MS, 1, Decimal(40))


def test_invalid_records_are_skipped_and_a_foreign_event_fails(
        state_table: tuple[Any, str]) -> None:
    # GIVEN a payload holding one invalid record
    summary = lambda_handler(dispatcher_payload([malformed_json(), _series("dev-9", 1)[0]]),
                             lambda_context("device-state"))
    # THEN the valid reading is applied and the invalid one counted
    assert (summary["readings"], summary["invalid"]) == (1, 1)
    # AND an event that is not a dispatcher payload fails the invocation (async retries,
    # then the worker's failure queue keep it)
    with pytest.raises(InvalidPayload):
        lambda_handler({"Records": []}, lambda_context("device-state"))
