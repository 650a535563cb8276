"""Telemetry v1 contract: what decodes, what is refused and with which reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lambdas.shared import telemetry
from lambdas.shared.telemetry import InvalidTelemetry, Reading
from tests.factories.telemetry import (
    INVALID_RECORDS,
    bad_field,
    extra_field,
    missing_field,
    missing_version,
    non_finite_metric,
    telemetry_bytes,
    telemetry_record,
    unknown_version,
)

CONTRACT_VIOLATIONS = {k: v for k, v in INVALID_RECORDS.items() if k != "unstorable_metric"}


def test_valid_record_decodes_to_readings_with_exact_decimals():
    # GIVEN the record of the data contract's example
    data = (
        b'{"v":1,"device_id":"dev-00042","site":"plant-a","ts":1763900000123,"seq":917,'
        b'"metrics":{"temperature_c":21.4,"humidity_pct":40.2,"battery_v":3.71}}'
    )

    # WHEN it is decoded and flattened
    readings = telemetry.to_readings(telemetry.decode(data))

    # THEN there is one reading per metric, valued exactly as the device wrote it
    assert readings == [
        Reading("dev-00042", "plant-a", "temperature_c", 1763900000123, Decimal("21.4")),
        Reading("dev-00042", "plant-a", "humidity_pct", 1763900000123, Decimal("40.2")),
        Reading("dev-00042", "plant-a", "battery_v", 1763900000123, Decimal("3.71")),
    ]


def test_encode_decode_round_trip():
    # GIVEN a record built by the factory
    record = telemetry_record("dev-7", seq=3, metrics={"temperature_c": -0.5})

    # WHEN it is encoded and decoded
    decoded = telemetry.decode(telemetry.encode(record))

    # THEN nothing changed
    assert decoded == record


def test_integer_metric_values_are_accepted():
    # GIVEN a device that writes integers
    data = telemetry_bytes(metrics={"rpm": 1200})

    # WHEN / THEN the value decodes as a number
    assert telemetry.to_readings(telemetry.decode(data))[0].value == Decimal("1200.0")


@pytest.mark.parametrize(
    ("data", "reason_start"),
    [
        (unknown_version(2), "schema"),
        (unknown_version("1"), "schema"),
        (missing_field("device_id"), "schema"),
        (missing_field("ts"), "schema"),
        (non_finite_metric(), "schema"),
        (bad_field("device_id", "dev 42!"), "schema"),
        (bad_field("device_id", "-leading-dash"), "schema"),
        (extra_field(), "schema"),
        (b'{"v":1,', "decode"),
    ],
    ids=[
        "unknown_v",
        "v_as_string",
        "missing_device_id",
        "missing_ts",
        "non_finite",
        "bad_device_id",
        "device_id_leading_dash",
        "extra_field",
        "truncated_json",
    ],
)
def test_invalid_records_raise_invalid_telemetry_with_a_reason(data, reason_start):
    # GIVEN an invalid record
    # WHEN it is decoded
    with pytest.raises(InvalidTelemetry) as caught:
        telemetry.decode(data)

    # THEN the error says which rule it broke
    assert caught.value.reason.startswith(reason_start)
    assert str(caught.value) == caught.value.reason


def test_extra_field_reason_names_the_field():
    # GIVEN a record with a field v1 does not define
    # WHEN it is decoded
    with pytest.raises(InvalidTelemetry) as caught:
        telemetry.decode(extra_field("firmware"))

    # THEN the reason names it
    assert "firmware" in caught.value.reason


@pytest.mark.parametrize("name", sorted(CONTRACT_VIOLATIONS))
def test_every_catalogued_contract_violation_is_refused(name):
    # GIVEN one of the factory's invalid records
    # WHEN / THEN the contract refuses it
    with pytest.raises(InvalidTelemetry):
        telemetry.decode(CONTRACT_VIOLATIONS[name])


def test_record_without_version_is_refused():
    # GIVEN a record that does not say which schema version it follows
    # WHEN it is decoded
    # THEN it is refused (versions are explicit, DESIGN.md "Data contract")
    with pytest.raises(InvalidTelemetry, match="missing required field `v`"):
        telemetry.decode(missing_version())


def test_reserved_version_zero_is_refused():
    # GIVEN a record claiming version 0 (the tag reserved to make `v` mandatory)
    # WHEN / THEN it is refused like any unknown version
    with pytest.raises(InvalidTelemetry, match=r"\$\.v"):
        telemetry.decode(b'{"v":0}')
