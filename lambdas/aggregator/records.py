"""One Kinesis record of the aggregator's batch: its user records, decoded and validated.

A Kinesis record may be a KPL aggregate; each user record in it is judged alone. A valid
one gives readings; an invalid one (undecodable, unknown schema version, a value DynamoDB
could not store) is *quarantined* with a reason, never failed: it must not block the shard.
Nothing here raises for bad input.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lambdas.aggregator.kpl import split_user_records
from lambdas.shared import telemetry
from lambdas.shared.readings import ReadingEntry
from lambdas.shared.telemetry import InvalidTelemetry, Reading, Telemetry

# DynamoDB numbers lie within 1E-130..1E+126 (38 digits, see aggregates.STATS_CONTEXT).
# A reading outside these magnitudes would make its partial (the sum of squares first)
# unwritable and so block the shard at the window's final invoke: it is quarantined.
MIN_STORABLE_MAGNITUDE = Decimal("1E-30")
MAX_STORABLE_MAGNITUDE = Decimal("1E+30")

# How much of a quarantined record's bytes a log line carries (base64).
QUARANTINE_SAMPLE_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A user record that failed validation; kept with what is needed to find and replay it."""

    reason: str
    sequence_number: str
    sub_sequence_number: int | None
    partition_key: str | None
    data: bytes

    def log_fields(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "sequence_number": self.sequence_number,
            "sub_sequence_number": self.sub_sequence_number,
            "device_id": self.partition_key,
            "data_bytes": len(self.data),
            "data_b64": base64.b64encode(self.data[:QUARANTINE_SAMPLE_BYTES]).decode("ascii"),
        }


@dataclass(slots=True)
class RecordContribution:
    """What one Kinesis record adds to the window."""

    sequence_number: str
    # (device_id, reading) per valid user record, in the record's order
    entries: list[tuple[str, ReadingEntry]] = field(default_factory=list)
    aggregated: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)


def check_storable(readings: list[Reading]) -> None:
    """Raise ``InvalidTelemetry`` for a value whose statistics DynamoDB could not store."""
    for reading in readings:
        magnitude = abs(reading.value)
        if magnitude and not MIN_STORABLE_MAGNITUDE <= magnitude <= MAX_STORABLE_MAGNITUDE:
            raise InvalidTelemetry(
                f"range: metric {reading.metric}={reading.value} is outside the storable "
                f"magnitudes {MIN_STORABLE_MAGNITUDE}..{MAX_STORABLE_MAGNITUDE}"
            )


def reading_entry(record: Telemetry, readings: list[Reading]) -> ReadingEntry:
    """The window-state form of a valid user record (values exactly as decoded)."""
    return ReadingEntry.of(boot=getattr(record, "boot", 0), seq=record.seq, ts_ms=record.ts,
                           site=record.site,
                           metrics={reading.metric: reading.value for reading in readings})


def read_record(
    sequence_number: str, data: bytes, partition_key: str | None = None
) -> RecordContribution:
    """Split one Kinesis record's data into user records, decode and validate each."""
    contribution = RecordContribution(sequence_number)
    for user_record in split_user_records(data):
        try:
            record = telemetry.decode(user_record.data)
            readings = telemetry.to_readings(record)
            check_storable(readings)
        except InvalidTelemetry as exc:
            contribution.quarantined.append(
                Quarantined(
                    reason=exc.reason,
                    sequence_number=sequence_number,
                    sub_sequence_number=user_record.sub_sequence_number,
                    partition_key=user_record.partition_key or partition_key,
                    data=user_record.data,
                )
            )
        else:
            contribution.entries.append((record.device_id, reading_entry(record, readings)))
            contribution.aggregated += 1
    return contribution


def read_base64_record(
    sequence_number: str, data_b64: str, partition_key: str | None = None
) -> RecordContribution:
    """``read_record`` for the base64 ``kinesis.data`` of a Lambda event record."""
    try:
        data = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raw = data_b64.encode("utf-8", "replace") if isinstance(data_b64, str) else b""
        return RecordContribution(
            sequence_number,
            quarantined=[
                Quarantined("envelope: kinesis.data is not base64", sequence_number, None,
                            partition_key, raw)
            ],
        )
    return read_record(sequence_number, data, partition_key)


__all__ = [
    "MAX_STORABLE_MAGNITUDE",
    "MIN_STORABLE_MAGNITUDE",
    "Quarantined",
    "RecordContribution",
    "check_storable",
    "read_base64_record",
    "read_record",
    "reading_entry",
]
