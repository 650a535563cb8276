"""Injected anomalies in a simulated fleet: parsing, validation, and the readings they
replace (only the covered metric of the covered device inside the interval)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from producers.anomalies import Anomaly, parse_anomaly
from producers.fleet import FleetConfig, generate

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _fleet(*anomalies: Anomaly) -> FleetConfig:
    return FleetConfig(devices=3, rate_hz=2.0, duration_s=10, seed=5, start_ms=START_MS,
                       anomalies=anomalies)


def test_the_command_line_form_parses_with_or_without_seconds_suffixes() -> None:
    # GIVEN the documented form, WHEN parsed, THEN every field is read
    assert parse_anomaly("dev-00002:temperature_c=95.5@3+4") == Anomaly(
        "dev-00002", "temperature_c", 95.5, 3.0, 4.0)
    assert parse_anomaly("dev-00001:battery_v=3.1@0s+2.5s").duration_s == 2.5


@pytest.mark.parametrize("text, message", [
    ("dev-00001:temperature_c=95", "is not of the form"),
    ("dev-00001=95@1+2", "is not of the form"),
    ("dev-00001:temperature_c=hot@1+2", "must be numbers"),
    ("dev-00001:temperature_c=NaN@1+2", "finite"),
    ("dev-00001:temperature_c=95@1+0", "duration > 0"),
    ("dev-00001:temperature_c=95.1234567@1+2", "outside the data contract"),
    ("dev-00001:temperature_c=1e9@1+2", "outside the data contract"),
])
def test_a_malformed_anomaly_is_refused_with_one_line(text: str, message: str) -> None:
    # WHEN a malformed anomaly is parsed THEN a one-line ValueError says what is wrong
    with pytest.raises(ValueError, match=message) as caught:
        parse_anomaly(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text, message", [
    ("dev-00004:temperature_c=95@1+2", "not in the fleet"),
    ("dev-0001:temperature_c=95@1+2", "not in the fleet"),
    ("dev-00001:pressure_hpa=95@1+2", "not one of"),
])
def test_an_anomaly_outside_the_fleet_is_refused(text: str, message: str) -> None:
    # GIVEN a 3-device fleet WHEN an anomaly names another device or metric THEN refused
    with pytest.raises(ValueError, match=message):
        _fleet(parse_anomaly(text))


def test_only_the_covered_readings_change() -> None:
    # GIVEN the same fleet without and with an anomaly on device 2 from 3 s to 6 s
    plain = [record for _, record in generate(_fleet())]
    spiked = list(generate(_fleet(parse_anomaly("dev-00002:temperature_c=95@3+3"))))

    # THEN exactly device 2's temperature readings inside [3 s, 6 s) are 95, and every
    # other field of every record is unchanged
    changed = 0
    for before, (offset, after) in zip(plain, spiked, strict=True):
        covered = after.device_id == "dev-00002" and 3 <= offset < 6
        for metric, value in before.metrics.items():
            expected = Decimal(95) if covered and metric == "temperature_c" else value
            assert after.metrics[metric] == expected
        assert (after.ts, after.seq, after.site) == (before.ts, before.seq, before.site)
        changed += covered
    assert changed == 6  # 2 Hz for 3 s
