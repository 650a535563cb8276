"""A flooding device: one device of the fleet sending far more readings than the rest.

A device stuck in a retry loop, or a firmware bug that reports in a tight loop, sends its
readings at a rate of its own. Every reading of a device goes to one shard (its partition
key is the device id), so a flood lands on one shard and, past that shard's write limits
(1,000 records/s and 1 MiB/s), gets its shard's writes throttled — the neighbours' too.

The command-line form is ``DEVICE=RATE``, readings per second: ``dev-00007=10000``. With
KPL aggregation (the simulator's default) a shard takes about 7,000 readings of ~150 bytes
per second before its 1 MiB/s runs out; without it, 1,000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORM = "DEVICE=RATE"
MAX_FLOOD_HZ = 50_000.0
_PATTERN = re.compile(r"\A(?P<device>[^=\s]+)=(?P<rate>[0-9.]+)\Z")


@dataclass(frozen=True, slots=True)
class Flood:
    """``device`` sends ``rate_hz`` readings per second for the whole run."""

    device: str
    rate_hz: float

    def __post_init__(self) -> None:
        if not 0 < self.rate_hz <= MAX_FLOOD_HZ:
            raise ValueError(f"flood of {self.device}: rate must be > 0 and <= "
                             f"{MAX_FLOOD_HZ:g} readings per second")


def parse_flood(text: str) -> Flood:
    """``DEVICE=RATE`` as a ``Flood``; ``ValueError`` (one line) saying what is wrong."""
    match = _PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"flood {text!r} is not of the form {FORM} (e.g. dev-00007=10000)")
    try:
        rate = float(match["rate"])
    except ValueError:
        raise ValueError(f"flood {text!r}: RATE must be a number") from None
    return Flood(device=match["device"], rate_hz=rate)


def device_rate(floods: tuple[Flood, ...], device: str, fleet_rate_hz: float) -> float:
    """The readings per second ``device`` sends: its flood's rate, else the fleet's."""
    for flood in floods:
        if flood.device == device:
            return flood.rate_hz
    return fleet_rate_hz


__all__ = ["FORM", "MAX_FLOOD_HZ", "Flood", "device_rate", "parse_flood"]
