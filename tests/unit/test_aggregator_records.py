"""Reading one Kinesis record under the telemetry contract: readings with their identity,
unknown fields counted, values the contract cannot keep exactly quarantined (no AWS)."""

from __future__ import annotations

from decimal import Decimal

from lambdas.aggregator.records import read_record
from tests.factories.kinesis import kpl_aggregate
from tests.factories.telemetry import (
    bad_field,
    extra_field,
    telemetry_bytes,
    with_metric_text,
)


def test_a_reading_carries_the_identity_of_its_record():
    # GIVEN a record sent after a restart (boot 3), with seq 41
    data = telemetry_bytes(seq=41, boot=3, metrics={"temperature_c": 21.4, "rpm": 1200})

    # WHEN it is read
    contribution = read_record("1", data)

    # THEN its reading has the record's (device_id, boot, seq) and its exact values
    [(device_id, entry)] = contribution.entries
    assert (device_id, entry.identity) == ("dev-00001", (3, 41))
    assert entry.values == (("rpm", Decimal("1200")), ("temperature_c", Decimal("21.4")))


def test_unknown_fields_are_counted_over_the_user_records_of_an_aggregate():
    # GIVEN a KPL aggregate of records with 1, 2 and 0 unknown fields, and an invalid record
    # that also carries an unknown field
    two_unknown = extra_field("firmware")[:-1] + b',"gps":{"lat":1.5}}'
    invalid_with_unknown = bad_field("seq", -1)[:-1] + b',"firmware":"1"}'
    data = kpl_aggregate([("dev-a", extra_field("firmware")), ("dev-b", two_unknown),
                          ("dev-c", telemetry_bytes()), ("dev-d", invalid_with_unknown)])

    # WHEN the Kinesis record is read
    contribution = read_record("7", data)

    # THEN the three valid ones are aggregated and their unknown fields counted; the
    # invalid one is quarantined and its fields are not counted as ignored
    assert contribution.aggregated == 3
    assert contribution.unknown_fields == 3
    [quarantined] = contribution.quarantined
    assert quarantined.reason.startswith("schema:") and "$.seq" in quarantined.reason


def test_a_record_with_one_value_off_the_grid_is_quarantined_whole():
    # GIVEN a record whose temperature has more decimals than the grid keeps (its other
    # metrics are fine)
    data = with_metric_text("21.1234567")

    # WHEN it is read
    contribution = read_record("9", data, partition_key="dev-00001")

    # THEN the whole user record is quarantined with a precision reason naming the metric;
    # none of its readings is aggregated, and nothing is rounded
    assert contribution.entries == [] and contribution.aggregated == 0
    [quarantined] = contribution.quarantined
    assert quarantined.reason.startswith("precision: metric `temperature_c` = 21.1234567")
    assert quarantined.data == data
