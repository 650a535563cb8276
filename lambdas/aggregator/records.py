"""One Kinesis record of the aggregator's batch: its user records, decoded and validated.

A Kinesis record may be a KPL aggregate; each user record in it is judged alone. A valid
one gives readings; an invalid one (undecodable, unknown schema version, a value the
contract cannot keep exactly: telemetry.py) is *quarantined* with a reason, never failed:
it must not block the shard. A valid one's unknown top-level fields are ignored and
counted (``unknown_fields``). Nothing here raises for bad input.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from lambdas.shared import telemetry
from lambdas.shared.kpl import split_user_records
from lambdas.shared.quarantine import Quarantined
from lambdas.shared.readings import ReadingEntry
from lambdas.shared.telemetry import InvalidTelemetry, Telemetry


@dataclass(slots=True)
class RecordContribution:
    """What one Kinesis record adds to the window."""

    sequence_number: str
    # (device_id, reading) per valid user record, in the record's order
    entries: list[tuple[str, ReadingEntry]] = field(default_factory=list)
    aggregated: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    # Unknown top-level fields of the aggregated user records, ignored (forward compatible).
    unknown_fields: int = 0


def reading_entry(record: Telemetry) -> ReadingEntry:
    """The window-state form of a valid user record (values exactly as decoded: the
    record's metrics are the Decimals of the JSON number text, telemetry.py)."""
    return ReadingEntry.of(boot=record.boot, seq=record.seq, ts_ms=record.ts,
                           site=record.site, metrics=record.metrics)


def read_record(
    sequence_number: str, data: bytes, partition_key: str | None = None
) -> RecordContribution:
    """Split one Kinesis record's data into user records, decode and validate each."""
    contribution = RecordContribution(sequence_number)
    for user_record in split_user_records(data):
        # Values on the contract's grid are exact and storable in DynamoDB's 38 digits with
        # their statistics (telemetry.py): a value that is not is refused there.
        try:
            record, unknown_fields = telemetry.decode_with_unknown(user_record.data)
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
            contribution.entries.append((record.device_id, reading_entry(record)))
            contribution.aggregated += 1
            contribution.unknown_fields += unknown_fields
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
    "Quarantined",
    "RecordContribution",
    "read_base64_record",
    "read_record",
    "reading_entry",
]
