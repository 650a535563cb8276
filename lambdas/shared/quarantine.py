"""Quarantine items: the DynamoDB form of a user record a stream consumer rejected (pure).

Shared by the aggregator and the fanout dispatcher: both quarantine an invalid user record
under the same key, so whichever sees it first writes the item the other rewrites.

DynamoDB layout of the ``quarantine`` table (PK/SK strings):

=========  =====================================  ==========================================
item       PK                                     SK
=========  =====================================  ==========================================
record     ``Q#<shard>#<sequence number>``        ``U#<sub-sequence number, 6 digits>`` or
                                                  ``U#-`` for a record that was not
                                                  KPL-aggregated
=========  =====================================  ==========================================

The key is a pure function of where the record sits in the stream, so a re-delivered or
replayed record rewrites the same item: quarantining is idempotent. Attributes: ``reason``,
``shard_id``, ``sequence_number``, ``sub_sequence_number`` (absent when not aggregated),
``partition_key``, ``arrival_time`` (epoch seconds, Kinesis' approximate arrival),
``arrival_iso``, ``quarantined_at`` (epoch seconds), ``data_b64`` (the raw bytes, base64),
``data_bytes`` (their full length), ``data_truncated`` (true when only the first
``MAX_STORED_DATA_BYTES`` are kept: a DynamoDB item holds at most 400 KB),
``event_source_arn`` and ``expires_at`` (TTL, epoch seconds).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# How much of a quarantined record's bytes a log line carries (base64).
QUARANTINE_SAMPLE_BYTES = 1024
# 256 KiB of raw bytes is ~342 KiB of base64: the item stays below DynamoDB's 400 KB.
MAX_STORED_DATA_BYTES = 256 * 1024
QUARANTINE_PREFIX = "Q#"
WHOLE_RECORD = "-"
SECONDS_PER_DAY = 86_400


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


@dataclass(frozen=True, slots=True)
class QuarantineContext:
    """Where and when the quarantined records were seen."""

    shard_id: str
    event_source_arn: str | None
    now_s: float
    retention_days: int


def quarantine_key(
    shard_id: str, sequence_number: str, sub_sequence_number: int | None
) -> dict[str, str]:
    sub = WHOLE_RECORD if sub_sequence_number is None else f"{sub_sequence_number:06d}"
    return {"PK": f"{QUARANTINE_PREFIX}{shard_id}#{sequence_number}", "SK": f"U#{sub}"}


def quarantine_item(
    record: Quarantined, arrival_s: float | None, context: QuarantineContext
) -> dict[str, Any]:
    """The item (resource-level types) for one quarantined user record."""
    stored = record.data[:MAX_STORED_DATA_BYTES]
    item: dict[str, Any] = {
        **quarantine_key(context.shard_id, record.sequence_number, record.sub_sequence_number),
        "kind": "quarantined",
        "reason": record.reason,
        "shard_id": context.shard_id,
        "sequence_number": record.sequence_number,
        "partition_key": record.partition_key or "",
        "data_b64": base64.b64encode(stored).decode("ascii"),
        "data_bytes": len(record.data),
        "data_truncated": len(stored) < len(record.data),
        "quarantined_at": int(context.now_s),
        "expires_at": int(context.now_s) + context.retention_days * SECONDS_PER_DAY,
    }
    if record.sub_sequence_number is not None:
        item["sub_sequence_number"] = record.sub_sequence_number
    if arrival_s is not None:
        item["arrival_time"] = Decimal(str(round(float(arrival_s), 3)))
        item["arrival_iso"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(arrival_s))
    if context.event_source_arn:
        item["event_source_arn"] = context.event_source_arn
    return item


def decode_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A quarantine item as plain JSON-safe values (for listing)."""
    plain: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, Decimal):
            plain[name] = int(value) if value == value.to_integral_value() else float(value)
        else:
            plain[name] = value
    return plain


__all__ = [
    "MAX_STORED_DATA_BYTES",
    "QuarantineContext",
    "Quarantined",
    "decode_item",
    "quarantine_item",
    "quarantine_key",
]
