"""Injected anomalies: a device reporting a chosen value of one metric for a while.

A fleet run with anomalies is as deterministic as one without: the anomaly replaces the
metric's value in the readings whose event time falls in its interval, and nothing else
changes (the random walks advance as usual, so the readings after it are the ones the
device would have sent anyway). The manifest counts the replaced values, so aggregates
still compare exactly, and the alerts worker sees a threshold crossed for exactly the
readings inside the interval.

The command-line form is ``DEVICE:METRIC=VALUE@START+DURATION``, times in seconds from
the run's start (an ``s`` suffix is allowed): ``dev-00003:temperature_c=95@10+6`` makes
device ``dev-00003`` report 95 °C from 10 s to 16 s into the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lambdas.shared.telemetry import VALUE_LIMIT

FORM = "DEVICE:METRIC=VALUE@START+DURATION"
_PATTERN = re.compile(
    r"\A(?P<device>[^:=@+\s]+):(?P<metric>[^:=@+\s]+)=(?P<value>[^@\s]+)"
    r"@(?P<start>[0-9.]+)s?\+(?P<duration>[0-9.]+)s?\Z")
MAX_DECIMALS = 6  # the data contract's grid of millionths


@dataclass(frozen=True, slots=True)
class Anomaly:
    """``device`` reports ``value`` for ``metric`` while ``start_s <= t < start_s +
    duration_s``, t being a reading's event time in seconds from the run's start."""

    device: str
    metric: str
    value: float
    start_s: float
    duration_s: float

    def __post_init__(self) -> None:
        if not self.duration_s > 0 or not self.start_s >= 0:
            raise ValueError(f"anomaly on {self.device}: start must be >= 0 and duration > 0")
        exact = Decimal(repr(self.value))
        if not abs(exact) < VALUE_LIMIT or exact.as_tuple().exponent < -MAX_DECIMALS:  # type: ignore[operator]
            raise ValueError(f"anomaly on {self.device}: value {self.value!r} is outside the "
                             f"data contract (|v| < {VALUE_LIMIT}, at most {MAX_DECIMALS} "
                             "decimals)")

    def covers(self, device: str, offset_s: float) -> bool:
        return device == self.device and self.start_s <= offset_s < self.start_s + self.duration_s


def parse_anomaly(text: str) -> Anomaly:
    """``DEVICE:METRIC=VALUE@START+DURATION`` as an ``Anomaly``; ``ValueError`` (one line)
    saying what is wrong otherwise."""
    match = _PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"anomaly {text!r} is not of the form {FORM} "
                         "(e.g. dev-00003:temperature_c=95@10+6)")
    try:
        value = Decimal(match["value"])
        start, duration = float(match["start"]), float(match["duration"])
    except (InvalidOperation, ValueError):
        raise ValueError(f"anomaly {text!r}: VALUE, START and DURATION must be numbers") from None
    if not value.is_finite():
        raise ValueError(f"anomaly {text!r}: VALUE must be a finite number")
    return Anomaly(device=match["device"], metric=match["metric"], value=float(value),
                   start_s=start, duration_s=duration)


def apply(anomalies: tuple[Anomaly, ...], device: str, offset_s: float,
          metrics: dict[str, float]) -> dict[str, float]:
    """``metrics`` with every anomaly covering (device, offset) applied (the last wins)."""
    for anomaly in anomalies:
        if anomaly.covers(device, offset_s) and anomaly.metric in metrics:
            metrics[anomaly.metric] = anomaly.value
    return metrics
