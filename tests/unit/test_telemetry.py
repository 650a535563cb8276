"""Telemetry v1 contract: what decodes, what is refused and with which reason, what is
ignored (forward compatibility), keys written twice, boot, and the wire format.

The exact grammar of identifiers and values is tested in test_telemetry_grammar.py.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from lambdas.shared import telemetry
from lambdas.shared.telemetry import MAX_COUNTER, InvalidTelemetry, Reading
from tests.factories.telemetry import (
    INVALID_RECORDS,
    bad_field,
    duplicate_key,
    extra_field,
    missing_field,
    missing_version,
    non_finite_metric,
    telemetry_bytes,
    telemetry_json,
    telemetry_record,
    unknown_version,
)

EXAMPLE = (
    b'{"v":1,"device_id":"dev-00042","site":"plant-a","ts":1763900000123,"seq":917,'
    b'"metrics":{"temperature_c":21.4,"humidity_pct":40.2,"battery_v":3.71}}'
)


def with_fields(data: bytes, fields: str) -> bytes:
    """``data`` (a JSON object) with raw ``"key":value`` text appended to its fields."""
    return data[:-1] + b"," + fields.encode() + b"}"


def test_valid_record_decodes_to_readings_with_exact_decimals():
    # GIVEN the record of the data contract's example
    # WHEN it is decoded and flattened
    readings = telemetry.to_readings(telemetry.decode(EXAMPLE))

    # THEN there is one reading per metric, valued exactly as the device wrote it, and
    # identified by (device_id, boot, seq)
    at = 1763900000123
    assert readings == [
        Reading("dev-00042", "plant-a", "temperature_c", at, Decimal("21.4"), 917, 0),
        Reading("dev-00042", "plant-a", "humidity_pct", at, Decimal("40.2"), 917, 0),
        Reading("dev-00042", "plant-a", "battery_v", at, Decimal("3.71"), 917, 0),
    ]


def test_encode_decode_round_trip():
    # GIVEN a record built by the factory, with a boot
    record = telemetry_record("dev-7", seq=3, boot=2, metrics={"temperature_c": -0.5})

    # WHEN it is encoded and decoded
    decoded = telemetry.decode(telemetry.encode(record))

    # THEN nothing changed
    assert decoded == record
    assert decoded.boot == 2


def test_values_are_written_as_json_numbers_with_their_exact_digits():
    # GIVEN a record holding a Decimal with a trailing zero, an integer and a float
    record = telemetry.new_v1("dev-1", "site-1", 1763900000123, 1,
                              {"a": Decimal("21.40"), "b": 1200, "c": 3.71})

    # WHEN it is encoded
    data = telemetry.encode(record)

    # THEN every value is a JSON number with exactly its digits (a float: its shortest repr)
    assert b'"metrics":{"a":21.40,"b":1200,"c":3.71}' in data
    # AND decoding keeps the text: 21.40 is not 21.4 written differently
    assert str(telemetry.decode(data).metrics["a"]) == "21.40"


def test_integer_metric_values_are_accepted_exactly():
    # GIVEN a device that writes integers
    data = telemetry_bytes(metrics={"rpm": 1200})

    # WHEN / THEN the value decodes as that integer, as a Decimal
    [reading] = telemetry.to_readings(telemetry.decode(data))
    assert type(reading.value) is Decimal and str(reading.value) == "1200"


@pytest.mark.parametrize(
    ("data", "reason_start"),
    [
        (unknown_version(2), "schema"),
        (unknown_version("1"), "schema"),
        (missing_field("device_id"), "schema"),
        (missing_field("ts"), "schema"),
        (non_finite_metric(), "range"),
        (bad_field("device_id", "dev 42!"), "schema"),
        (bad_field("device_id", "-leading-dash"), "schema"),
        (bad_field("seq", 1.0), "schema"),
        (bad_field("ts", "1763900000123"), "schema"),
        (duplicate_key("ts"), "schema"),
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
        "seq_as_float",
        "ts_as_string",
        "duplicate_key",
        "truncated_json",
    ],
)
def test_invalid_records_raise_invalid_telemetry_with_a_reason(data, reason_start):
    # GIVEN an invalid record
    # WHEN it is decoded
    with pytest.raises(InvalidTelemetry) as caught:
        telemetry.decode(data)

    # THEN the error says which rule it broke
    assert caught.value.reason.startswith(reason_start + ":")
    assert str(caught.value) == caught.value.reason


@pytest.mark.parametrize("name", sorted(INVALID_RECORDS))
def test_every_catalogued_contract_violation_is_refused(name):
    # GIVEN one of the factory's invalid records
    # WHEN / THEN the contract refuses it, with one of the documented reason kinds
    with pytest.raises(InvalidTelemetry) as caught:
        telemetry.decode(INVALID_RECORDS[name])
    assert caught.value.reason.split(":", 1)[0] in {"decode", "schema", "range", "precision"}


def test_record_without_version_is_refused():
    # GIVEN a record that does not say which schema version it follows
    # WHEN it is decoded
    # THEN it is refused (versions are explicit, DESIGN.md "Data contract")
    with pytest.raises(InvalidTelemetry, match="missing required field `v`"):
        telemetry.decode(missing_version())


def test_reserved_version_zero_is_refused():
    # GIVEN a record claiming version 0 (the tag reserved to make `v` mandatory)
    # WHEN / THEN it is refused like any unknown version, unknown fields or not
    for data in (b'{"v":0}', b'{"v":0,"firmware":"1.2"}'):
        with pytest.raises(InvalidTelemetry, match=r"\$\.v"):
            telemetry.decode(data)


# Forward compatibility ------------------------------------------------------------------


def test_a_record_without_unknown_fields_counts_none():
    # GIVEN the contract's example / WHEN decoded with the count / THEN the count is 0
    assert telemetry.decode_with_unknown(EXAMPLE)[1] == 0


def test_unknown_top_level_fields_are_ignored_and_counted():
    # GIVEN a v1 record with two fields v1 does not define, one of them an object
    data = with_fields(telemetry_bytes(), '"firmware":"1.2.3","gps":{"lat":1.5,"lon":[2]}')

    # WHEN it is decoded
    record, unknown = telemetry.decode_with_unknown(data)

    # THEN it is the same record as without them, and both are counted
    assert record == telemetry_record()
    assert type(record) is telemetry.TelemetryV1
    assert unknown == 2
    # AND decode (without the count) accepts it too
    assert telemetry.decode(extra_field("firmware")) == telemetry_record()


def test_an_unknown_field_does_not_hide_another_violation():
    # GIVEN a record with an unknown field and a negative seq
    data = with_fields(bad_field("seq", -1), '"firmware":"1.2.3"')

    # WHEN / THEN the seq is still refused
    with pytest.raises(InvalidTelemetry, match=r"\$\.seq"):
        telemetry.decode_with_unknown(data)


def test_an_unknown_field_does_not_make_an_unknown_version_acceptable():
    # GIVEN a v2 record (a field whose meaning changed needs a new v) with a new field
    data = with_fields(unknown_version(2), '"firmware":"2.0"')

    # WHEN / THEN it is refused for its version
    with pytest.raises(InvalidTelemetry, match=r"Invalid value 2 - at `\$\.v`"):
        telemetry.decode_with_unknown(data)


def test_a_new_key_inside_metrics_is_a_metric_not_an_unknown_field():
    # GIVEN a record with a metric nobody has seen before
    data = telemetry_bytes(metrics={"co2_ppm": 415})

    # WHEN it is decoded
    record, unknown = telemetry.decode_with_unknown(data)

    # THEN it is a reading like any other
    assert unknown == 0
    assert [r.metric for r in telemetry.to_readings(record)] == ["co2_ppm"]


def test_an_unknown_field_with_an_invalid_value_in_it_is_still_ignored():
    # GIVEN an unknown field holding what would be an invalid metric value
    data = with_fields(telemetry_bytes(), '"calibration":0.1234567890123')

    # WHEN / THEN the record is accepted: the contract does not judge what it ignores
    assert telemetry.decode_with_unknown(data)[1] == 1


# Keys written twice ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (duplicate_key("ts"), "`ts` is written twice - at `$`"),
        (duplicate_key("seq", 5), "`seq` is written twice - at `$`"),
        (with_fields(telemetry_bytes(boot=3), '"boot":4'), "`boot` is written twice - at `$`"),
        (with_fields(telemetry_bytes(), '"\\u0074s":1763900000000'), "`ts` is written twice"),
        (with_fields(telemetry_bytes(), '"fw":1,"fw":2'), "`fw` is written twice - at `$`"),
        (telemetry_bytes(metrics={"a": 1}).replace(b'{"a":1}', b'{"a":1,"a":2}'),
         "`a` is written twice - at `$.metrics`"),
        (telemetry_bytes(metrics={"boot": 1}).replace(b'{"boot":1}', b'{"boot":1,"boot":2}'),
         "`boot` is written twice - at `$.metrics`"),
    ],
    ids=["ts", "seq", "boot", "escaped_ts", "unknown_field", "metric", "metric_named_boot"],
)
def test_a_key_written_twice_is_refused_not_resolved(data, where):
    # GIVEN a record that writes one key twice (a JSON parser would silently keep one)
    # WHEN / THEN it is refused, naming the key
    with pytest.raises(InvalidTelemetry) as caught:
        telemetry.decode(data)
    assert caught.value.reason.startswith("schema:") and where in caught.value.reason


@pytest.mark.parametrize(
    "data",
    [
        with_fields(telemetry_bytes(), '"boot":0'),
        with_fields(telemetry_bytes(metrics={"boot": 1}), '"boot":0'),
        with_fields(telemetry_bytes(metrics={"boot": 1}), '"boot":7'),
        telemetry_bytes(metrics={"boot": 1}),
        b'{ "v" : 1 , "device_id" : "d" , "site" : "s" , "ts" : 1763900000123 ,'
        b' "seq" : 1 , "metrics" : { "a" : 1 } }',
    ],
    ids=["explicit_boot_0", "metric_named_boot_and_boot_0", "metric_named_boot_and_boot",
         "metric_named_boot", "whitespace"],
)
def test_records_writing_each_key_once_are_accepted(data):
    # GIVEN a record whose keys are each written once (boot written or not)
    # WHEN / THEN it decodes
    assert telemetry.decode_with_unknown(data)[1] == 0


# Reboots (boot) -------------------------------------------------------------------------


def test_a_record_without_boot_is_boot_zero_and_is_encoded_without_it():
    # GIVEN a record built without boot
    record = telemetry_record()

    # WHEN it is encoded
    data = telemetry.encode(record)

    # THEN boot is 0 and is not written: a device that never sets it sends v1 as before
    assert record.boot == 0
    assert b"boot" not in data
    assert telemetry_json() == {"v": 1, "device_id": "dev-00001", "site": "plant-a",
                                "ts": 1763899980000, "seq": 0,
                                "metrics": {"temperature_c": 21.4, "humidity_pct": 40.2,
                                            "battery_v": 3.71}}


def test_readings_of_two_boots_with_the_same_seq_have_different_identities():
    # GIVEN the same seq sent before and after a restart
    before = telemetry.decode(telemetry_bytes(seq=5, boot=1))
    after = telemetry.decode(telemetry_bytes(seq=5, boot=2))

    # WHEN they are flattened
    identities = {(r.device_id, r.boot, r.seq)
                  for record in (before, after) for r in telemetry.to_readings(record)}

    # THEN (device_id, boot, seq) tells them apart
    assert identities == {("dev-00001", 1, 5), ("dev-00001", 2, 5)}


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("boot", 0, True), ("boot", MAX_COUNTER, True), ("boot", MAX_COUNTER + 1, False),
        ("boot", -1, False), ("boot", 1.5, False), ("boot", "3", False), ("boot", None, False),
        ("boot", True, False),
        ("seq", 0, True), ("seq", MAX_COUNTER, True), ("seq", MAX_COUNTER + 1, False),
    ],
)
def test_boot_and_seq_are_int64_counters(field, value, accepted):
    # GIVEN a record with this boot or seq
    data = bad_field(field, value)

    # WHEN / THEN it is accepted only if it is a non-negative integer below 2**63
    if accepted:
        assert getattr(telemetry.decode(data), field) == value
    else:
        with pytest.raises(InvalidTelemetry, match=rf"^schema: .*\$\.{field}"):
            telemetry.decode(data)
