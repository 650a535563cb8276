"""The simulated fleet: deterministic, valid telemetry v1, in event-time order."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.shared.telemetry import decode, encode
from producers.fleet import METRICS, FleetConfig, device_id, generate, site_name
from tests.unit.test_producer_support import START_MS


def make_config(**overrides: object) -> FleetConfig:
    values: dict[str, object] = {
        "devices": 6, "rate_hz": 2.0, "duration_s": 30.0, "seed": 11, "start_ms": START_MS,
    }
    values.update(overrides)
    return FleetConfig(**values)  # type: ignore[arg-type]


def encoded_run(config: FleetConfig) -> list[tuple[float, bytes]]:
    return [(offset, encode(record)) for offset, record in generate(config)]


def decimals_of(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def test_same_seed_gives_identical_records_and_offsets() -> None:
    # GIVEN two configs that differ in nothing
    config = make_config()
    # WHEN both runs are generated
    first, second = encoded_run(config), encoded_run(make_config())
    # THEN they are byte-for-byte identical
    assert first == second
    assert len(first) == config.total_records == 6 * 60


def test_different_seed_gives_different_records() -> None:
    # GIVEN two configs that differ only in the seed
    # WHEN both runs are generated
    first, second = encoded_run(make_config(seed=1)), encoded_run(make_config(seed=2))
    # THEN the readings differ (same shape, different values)
    assert len(first) == len(second)
    assert first != second


def test_a_device_does_not_change_when_the_fleet_grows() -> None:
    # GIVEN a small and a larger fleet with the same seed
    small = [r for _, r in generate(make_config(devices=2))]
    large = [r for _, r in generate(make_config(devices=9))]
    # WHEN we look at device 2 in both
    # THEN its records are the same, so adding devices never rewrites history
    assert [r for r in small if r.device_id == "dev-00002"] == [
        r for r in large if r.device_id == "dev-00002"
    ]


def test_devices_have_stable_ids_and_fixed_sites() -> None:
    # GIVEN a fleet of 7 devices over 3 sites
    records = [r for _, r in generate(make_config(devices=7, sites=3))]
    # WHEN we collect the sites each device reported
    sites: dict[str, set[str]] = defaultdict(set)
    for record in records:
        sites[record.device_id].add(record.site)
    # THEN ids run dev-00001.. and each device sticks to one site, dealt round-robin
    assert sorted(sites) == [device_id(i) for i in range(7)]
    assert {device: s.pop() for device, s in sites.items()} == {
        "dev-00001": "plant-a", "dev-00002": "plant-b", "dev-00003": "plant-c",
        "dev-00004": "plant-a", "dev-00005": "plant-b", "dev-00006": "plant-c",
        "dev-00007": "plant-a",
    }
    assert site_name(26) == "plant-aa"


def test_every_record_passes_the_contract_and_is_rounded() -> None:
    # GIVEN a generated run
    records = [r for _, r in generate(make_config(duration_s=120.0))]
    for record in records:
        # WHEN a record goes through the wire format
        # THEN it decodes to the same valid record
        assert decode(encode(record)) == record
        # AND its metrics are the three known ones, short decimals, physically plausible
        assert tuple(record.metrics) == METRICS
        assert decimals_of(record.metrics["temperature_c"]) <= 2
        assert decimals_of(record.metrics["humidity_pct"]) <= 2
        assert decimals_of(record.metrics["battery_v"]) <= 3
        assert 0.0 <= record.metrics["humidity_pct"] <= 100.0
        assert 3.0 <= record.metrics["battery_v"] <= 4.3


def test_records_come_in_event_time_order_with_per_device_sequences() -> None:
    # GIVEN a run of 6 devices at 2 Hz for 30 s
    config = make_config()
    run = list(generate(config))
    # WHEN we look at event times and per-device sequence numbers
    timestamps = [record.ts for _, record in run]
    per_device: dict[str, list[int]] = defaultdict(list)
    for _, record in run:
        per_device[record.device_id].append(record.seq)
    # THEN the fleet is in event-time order, offsets match event times and stay in the run
    assert timestamps == sorted(timestamps)
    for offset, record in run:
        assert offset == (record.ts - START_MS) / 1000
        assert 0 <= offset < config.duration_s
    # AND every device counts 0, 1, 2, ... without gaps
    assert all(seqs == list(range(config.records_per_device)) for seqs in per_device.values())


def test_devices_are_not_in_lock_step() -> None:
    # GIVEN many devices at 1 Hz
    run = list(generate(make_config(devices=20, rate_hz=1.0, duration_s=1.0)))
    # WHEN we look at the millisecond of each device's first reading
    # THEN phases differ, so the stream is not hit by the whole fleet at once
    assert len({record.ts for _, record in run}) > 15


def test_battery_drains_over_a_long_run() -> None:
    # GIVEN one device observed for two hours at a slow rate
    run = [r for _, r in generate(make_config(devices=1, rate_hz=0.05, duration_s=7200.0))]
    # WHEN we compare the first and last battery readings
    # THEN the voltage went down
    assert run[-1].metrics["battery_v"] < run[0].metrics["battery_v"]


def test_start_ms_none_takes_now_from_the_injected_clock() -> None:
    # GIVEN a config without a start time
    config = make_config(start_ms=None, devices=1)
    # WHEN it is generated with a fixed "now"
    first_offset, first = next(generate(config, now_ms=lambda: START_MS + 5_000))
    # THEN event times start from that now
    assert first.ts == START_MS + 5_000 + round(first_offset * 1000)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"devices": 0}, "devices must be an integer >= 1"),
        ({"devices": 2.5}, "devices must be an integer >= 1"),
        ({"rate_hz": 0}, "rate_hz must be > 0"),
        ({"rate_hz": float("nan")}, "rate_hz must be > 0"),
        ({"rate_hz": 5000}, "rate_hz must be > 0 and <= 1000"),
        ({"duration_s": -1}, "duration_s must be a finite number > 0"),
        ({"duration_s": 0.5, "rate_hz": 1.0}, "at least one record per device"),
        ({"sites": 0}, "sites must be an integer >= 1"),
        ({"start_ms": 12}, "start_ms must be epoch milliseconds"),
        ({"seed": "x"}, "seed must be an integer"),
    ],
)
def test_invalid_config_is_rejected_with_a_one_line_message(
    overrides: dict[str, object], message: str
) -> None:
    # GIVEN / WHEN a config with one bad value
    with pytest.raises(ValueError, match=message) as caught:
        make_config(**overrides)
    # THEN the message is one line a CLI can print as is
    assert "\n" not in str(caught.value)


def test_fractional_rates_count_records_without_float_surprises() -> None:
    # GIVEN 0.1 Hz for 30 s (0.1 * 30 is 3.0000000000000004 in floats)
    config = make_config(devices=1, rate_hz=0.1, duration_s=30.0)
    # WHEN / THEN the device produces exactly 3 records
    assert config.records_per_device == 3
    assert len(list(generate(config))) == 3


@settings(max_examples=25, deadline=None)
@given(
    devices=st.integers(1, 8),
    rate_hz=st.sampled_from([0.5, 1.0, 3.0, 10.0, 250.0]),
    duration_s=st.sampled_from([2.0, 5.5, 9.0]),
    seed=st.integers(0, 2**32),
)
def test_any_small_fleet_keeps_the_invariants(
    devices: int, rate_hz: float, duration_s: float, seed: int
) -> None:
    # GIVEN any small fleet
    config = FleetConfig(devices, rate_hz, duration_s, seed=seed, start_ms=START_MS)
    # WHEN it is generated
    run = list(generate(config))
    # THEN the count is exact, time never goes backwards and each device's ts is monotone
    assert len(run) == config.total_records
    assert [offset for offset, _ in run] == sorted(offset for offset, _ in run)
    last_ts: dict[str, int] = {}
    for _, record in run:
        assert record.ts >= last_ts.get(record.device_id, 0)
        last_ts[record.device_id] = record.ts
