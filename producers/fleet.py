"""A deterministic fleet of simulated IoT devices producing telemetry v1.

The same ``FleetConfig`` (seed included) always yields the same records, so a run can be
replayed, compared against a manifest, or reproduced from a bug report. Each device draws
from its own random stream, seeded from (fleet seed, device index): device 7's readings do
not change when the fleet grows from 10 to 1,000 devices.

Metric values are rounded with ``round(x, n)`` before they leave the generator. A rounded
float's shortest repr is the short decimal a real device would have written (``21.4``, not
``21.400000000000002``); ``telemetry.new_v1`` turns it into that exact ``Decimal``, which is
what the record's encoding writes and what consumers read back. The manifest counts those
same Decimals, so it and the aggregates agree to the last digit. Records carry no ``boot``
(absent means 0: docs/data-contract.md), so their bytes are what a v1 device always sent.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lambdas.shared.telemetry import MAX_TS_MS, MIN_TS_MS, TelemetryV1, new_v1
from producers.anomalies import Anomaly, apply
from producers.floods import Flood, device_rate

# One device maps to one shard, and a shard accepts at most 1,000 records/s.
MAX_RATE_HZ = 1000.0
# Jitter keeps devices from ticking in lock step, but stays well inside one period so a
# device's own event times never go backwards.
MAX_JITTER_MS = 50.0

TEMPERATURE = "temperature_c"
HUMIDITY = "humidity_pct"
BATTERY = "battery_v"
METRICS = (TEMPERATURE, HUMIDITY, BATTERY)

BATTERY_CUTOFF_V = 3.0


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """What to simulate: how many devices, how often, for how long, from which seed.

    ``rate_hz`` is records per second *per device*. ``start_ms`` is the event time of the
    run's offset 0; ``None`` means "now" at generation time (records then differ between
    runs only by that shift, never in values, sequence numbers or spacing). ``anomalies``
    replace a device's value of one metric for a while (``producers.anomalies``).
    """

    devices: int
    rate_hz: float
    duration_s: float
    seed: int = 0
    sites: int = 5
    start_ms: int | None = None
    anomalies: tuple[Anomaly, ...] = ()
    floods: tuple[Flood, ...] = ()

    def __post_init__(self) -> None:
        _require(_is_int(self.devices) and self.devices >= 1, "devices must be an integer >= 1")
        _require(_is_int(self.sites) and self.sites >= 1, "sites must be an integer >= 1")
        _require(_is_int(self.seed), "seed must be an integer")
        _require(
            _is_number(self.rate_hz) and 0 < self.rate_hz <= MAX_RATE_HZ,
            f"rate_hz must be > 0 and <= {MAX_RATE_HZ:g} (records per second per device)",
        )
        _require(
            _is_number(self.duration_s) and self.duration_s > 0,
            "duration_s must be a finite number > 0",
        )
        _require(
            self.records_per_device >= 1,
            "duration_s x rate_hz must allow at least one record per device",
        )
        if self.start_ms is not None:
            _require(
                _is_int(self.start_ms) and MIN_TS_MS <= self.start_ms < MAX_TS_MS,
                f"start_ms must be epoch milliseconds in [{MIN_TS_MS}, {MAX_TS_MS})",
            )
            end_ms = self.start_ms + math.ceil(self.duration_s * 1000)
            _require(end_ms < MAX_TS_MS, "start_ms + duration_s is past the supported range")
        for anomaly in self.anomalies:
            _require(_in_fleet(anomaly.device, self.devices),
                     f"anomaly device {anomaly.device} is not in the fleet "
                     f"(dev-00001 to {device_id(self.devices - 1)})")
            _require(anomaly.metric in METRICS,
                     f"anomaly metric {anomaly.metric} is not one of {', '.join(METRICS)}")
        for flood in self.floods:
            _require(_in_fleet(flood.device, self.devices),
                     f"flooding device {flood.device} is not in the fleet "
                     f"(dev-00001 to {device_id(self.devices - 1)})")
        _require(len({flood.device for flood in self.floods}) == len(self.floods),
                 "a device may flood once")

    @property
    def records_per_device(self) -> int:
        """Readings of a device at the fleet's rate (a flooding device sends more)."""
        return self.records_at(self.rate_hz)

    @property
    def total_records(self) -> int:
        return self.devices * self.records_per_device + sum(
            self.records_at(flood.rate_hz) - self.records_per_device for flood in self.floods)

    def rate_of(self, device: str) -> float:
        """Readings per second of ``device``: a flood's rate, else ``rate_hz``."""
        return device_rate(self.floods, device, self.rate_hz)

    def records_at(self, rate_hz: float) -> int:
        # The epsilon absorbs float error: 0.1 Hz x 30 s must give 3 records, not 2.
        return math.floor(self.duration_s * rate_hz + 1e-9)

    @property
    def period_ms(self) -> float:
        return 1000.0 / self.rate_hz


def device_id(index: int) -> str:
    """``dev-00001`` for index 0; ids stay sortable up to 99,999 devices."""
    return f"dev-{index + 1:05d}"


def _in_fleet(ident: str, devices: int) -> bool:
    """Whether ``ident`` is ``device_id(i)`` of one of the fleet's ``devices``."""
    digits = ident.removeprefix("dev-")
    return digits != ident and digits.isdigit() and device_id(int(digits) - 1) == ident \
        and 1 <= int(digits) <= devices


def site_name(index: int) -> str:
    """``plant-a`` … ``plant-z``, then ``plant-aa`` … (bijective base 26)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return f"plant-{letters}"


def device_site(device_index: int, sites: int) -> str:
    """Devices are dealt round-robin over sites, so every site gets devices."""
    return site_name(device_index % sites)


def generate(
    config: FleetConfig, *, now_ms: Callable[[], int] | None = None
) -> Iterator[tuple[float, TelemetryV1]]:
    """Yield ``(offset_seconds, record)`` for the whole fleet in event-time order.

    ``offset_seconds`` is the record's event time relative to the run's start, so a caller
    can send each record when it is due. Ties in event time are broken by device index,
    which keeps the order total and therefore deterministic.
    """
    start_ms = config.start_ms if config.start_ms is not None else _resolve_now(now_ms)
    streams = [
        _device_stream(config, index, start_ms) for index in range(config.devices)
    ]
    for ts, _index, _seq, record in heapq.merge(*streams):
        yield (ts - start_ms) / 1000.0, record


def _device_stream(
    config: FleetConfig, index: int, start_ms: int
) -> Iterator[tuple[int, int, int, TelemetryV1]]:
    """One device's records as ``(ts, device_index, seq, record)``, ts non-decreasing.

    ``seq`` is in the tuple so that two records of one device with the same millisecond
    (possible near ``MAX_RATE_HZ``) are ordered without ever comparing the records.
    """
    rng = random.Random(f"shardline-fleet:{config.seed}:{index}")
    ident, site = device_id(index), device_site(index, config.sites)
    rate = config.rate_of(ident)
    period = 1000.0 / rate
    device = _Device.create(rng, period)
    jitter = min(MAX_JITTER_MS, period / 4)
    for seq in range(config.records_at(rate)):
        # phase < period/2 and |jitter| <= period/4 keep each record inside its own
        # period: offsets strictly increase and stay below duration_s.
        offset_ms = max(0.0, device.phase_ms + seq * period + rng.uniform(-jitter, jitter))
        ts = start_ms + round(offset_ms)
        metrics = apply(config.anomalies, ident, offset_ms / 1000.0,
                        device.read(rng, offset_ms / 1000.0))
        yield ts, index, seq, new_v1(ident, site, ts, seq, metrics)


@dataclass(slots=True)
class _Device:
    """Physical state of one simulated device between readings."""

    phase_ms: float
    temperature_base: float
    temperature: float
    humidity_base: float
    humidity: float
    battery_full_v: float
    battery_drain_v_per_s: float

    @classmethod
    def create(cls, rng: random.Random, period_ms: float) -> _Device:
        temperature = rng.uniform(18.0, 26.0)
        humidity = rng.uniform(30.0, 60.0)
        return cls(
            phase_ms=rng.uniform(0.0, period_ms / 2),
            temperature_base=temperature,
            temperature=temperature,
            humidity_base=humidity,
            humidity=humidity,
            battery_full_v=rng.uniform(3.7, 4.2),
            # 0.036 to 0.18 V per hour: visible over a long run, flat over a short one.
            battery_drain_v_per_s=rng.uniform(1e-5, 5e-5),
        )

    def read(self, rng: random.Random, elapsed_s: float) -> dict[str, float]:
        """Advance the random walks and return rounded readings."""
        # A mean-reverting walk wanders like a real room but never drifts off to absurd
        # values however long the run is.
        self.temperature += 0.05 * (self.temperature_base - self.temperature) + rng.gauss(
            0.0, 0.1
        )
        self.humidity += 0.05 * (self.humidity_base - self.humidity) + rng.gauss(0.0, 0.3)
        self.humidity = min(100.0, max(0.0, self.humidity))
        battery = self.battery_full_v - self.battery_drain_v_per_s * elapsed_s
        battery += rng.gauss(0.0, 0.001)  # ADC noise, a few mV
        return {
            TEMPERATURE: round(self.temperature, 2),
            HUMIDITY: round(self.humidity, 2),
            BATTERY: round(max(BATTERY_CUTOFF_V, battery), 3),
        }


def _resolve_now(now_ms: Callable[[], int] | None) -> int:
    return now_ms() if now_ms is not None else time.time_ns() // 1_000_000


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


__all__ = [
    "METRICS",
    "FleetConfig",
    "device_id",
    "device_site",
    "generate",
    "site_name",
]
