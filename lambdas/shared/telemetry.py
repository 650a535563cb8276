"""Telemetry data contract (DESIGN.md, "Data contract").

One JSON object per user record, partition key = ``device_id``. Schema versions are
explicit: each version is a msgspec ``Struct`` tagged by its ``v`` field, and the decoder
accepts the union of all known versions. Adding a v2 means adding a Struct to
``KNOWN_VERSIONS`` and a ``to_readings`` branch; the consumers' hot path is unchanged.

Metric values are finite JSON numbers. Consumers turn them into ``Decimal`` through their
shortest repr, which is exactly the text the device wrote for values like ``21.4``; that is
what makes sums exact and comparable with a producer's ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

import msgspec

DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
METRIC_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
SITE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

# Event time must be plausible: not before 2020-01-01, not after 2100-01-01 (ms).
MIN_TS_MS = 1_577_836_800_000
MAX_TS_MS = 4_102_444_800_000

DeviceId = Annotated[str, msgspec.Meta(pattern=DEVICE_ID_PATTERN)]
Site = Annotated[str, msgspec.Meta(pattern=SITE_PATTERN)]
MetricName = Annotated[str, msgspec.Meta(pattern=METRIC_NAME_PATTERN)]
EventTimeMs = Annotated[int, msgspec.Meta(ge=MIN_TS_MS, lt=MAX_TS_MS)]
Sequence = Annotated[int, msgspec.Meta(ge=0)]
Metrics = Annotated[dict[MetricName, float], msgspec.Meta(min_length=1, max_length=64)]


class TelemetryV1(msgspec.Struct, tag_field="v", tag=1, forbid_unknown_fields=True, frozen=True):
    """Telemetry v1: one device's readings at one instant."""

    device_id: DeviceId
    site: Site
    ts: EventTimeMs
    seq: Sequence
    metrics: Metrics


class _ReservedV0(msgspec.Struct, tag_field="v", tag=0, frozen=True):
    """Never valid. With a single version msgspec would treat ``v`` as optional; a
    union of two tagged types makes the tag required, and is where a v2 goes."""


KNOWN_VERSIONS = TelemetryV1 | _ReservedV0  # add TelemetryV2 here
Telemetry = TelemetryV1

_decoder = msgspec.json.Decoder(KNOWN_VERSIONS)
_encoder = msgspec.json.Encoder()


class InvalidTelemetry(ValueError):
    """A user record that cannot be decoded or violates the contract; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reading:
    """One metric value of one device at one event time, ready for aggregation."""

    device_id: str
    site: str
    metric: str
    ts_ms: int
    value: Decimal


def decode(data: bytes) -> Telemetry:
    """Decode and validate one user record, raising ``InvalidTelemetry`` with a reason."""
    try:
        record = _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise InvalidTelemetry(f"schema: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidTelemetry(f"decode: {exc}") from None
    if isinstance(record, _ReservedV0):
        raise InvalidTelemetry("schema: Invalid value 0 - at `$.v`")
    # Non-finite numbers cannot reach here: JSON has no NaN/Infinity literals and
    # msgspec rejects out-of-range numbers such as 1e999.
    return record


def to_readings(record: Telemetry) -> list[Reading]:
    """Flatten a record into one reading per metric."""
    return [
        Reading(record.device_id, record.site, name, record.ts, Decimal(repr(value)))
        for name, value in record.metrics.items()
    ]


def encode(record: Telemetry) -> bytes:
    """Encode a record as compact JSON (the bytes a device puts on the stream)."""
    return _encoder.encode(record)


def new_v1(
    device_id: str, site: str, ts: int, seq: int, metrics: dict[str, float]
) -> TelemetryV1:
    """Build a v1 record (no validation; use ``decode(encode(...))`` to validate)."""
    return TelemetryV1(device_id=device_id, site=site, ts=ts, seq=seq, metrics=metrics)


__all__ = [
    "KNOWN_VERSIONS",
    "InvalidTelemetry",
    "Reading",
    "Telemetry",
    "TelemetryV1",
    "decode",
    "encode",
    "new_v1",
    "to_readings",
]
