"""A flooding device in the simulated fleet: its own rate, the others unchanged."""

from __future__ import annotations

from collections import defaultdict

import pytest

from producers.fleet import FleetConfig, generate
from producers.floods import Flood, parse_flood
from tests.factories.producer import START_MS


def _by_device(config: FleetConfig) -> dict[str, list]:
    found: dict[str, list] = defaultdict(list)
    for _offset, record in generate(config):
        found[record.device_id].append(record)
    return found


def test_a_flooding_device_sends_at_its_rate_and_the_others_are_unchanged() -> None:
    # GIVEN a fleet of 4 devices at 2 readings/s for 5 s, with and without dev-00003
    # flooding at 500 readings/s
    calm = FleetConfig(devices=4, rate_hz=2.0, duration_s=5.0, seed=1, start_ms=START_MS)
    flooded = FleetConfig(devices=4, rate_hz=2.0, duration_s=5.0, seed=1, start_ms=START_MS,
                          floods=(Flood("dev-00003", 500.0),))

    # WHEN both fleets are generated
    before, after = _by_device(calm), _by_device(flooded)

    # THEN the flooder sent 2,500 readings, numbered in order, inside the run
    flood = after["dev-00003"]
    assert len(flood) == 2500 == flooded.total_records - 3 * 10
    assert [r.seq for r in flood] == list(range(2500))
    assert all(START_MS <= r.ts < START_MS + 5000 for r in flood)
    # AND every other device sent exactly what it sends without the flood
    for device in ("dev-00001", "dev-00002", "dev-00004"):
        assert after[device] == before[device]


@pytest.mark.parametrize(("text", "message"), [
    ("dev-00003:9000", "is not of the form DEVICE=RATE"),
    ("dev-00003=0", "rate must be > 0"),
    ("dev-00003=90000", "rate must be > 0 and <= 50000"),
])
def test_a_malformed_flood_is_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_flood(text)


def test_a_device_may_flood_once_and_only_if_it_is_in_the_fleet() -> None:
    with pytest.raises(ValueError, match="flooding device dev-00009 is not in the fleet"):
        FleetConfig(devices=3, rate_hz=1.0, duration_s=1.0, floods=(Flood("dev-00009", 10),))
    with pytest.raises(ValueError, match="a device may flood once"):
        FleetConfig(devices=3, rate_hz=1.0, duration_s=1.0,
                    floods=(Flood("dev-00001", 10), Flood("dev-00001", 20)))
