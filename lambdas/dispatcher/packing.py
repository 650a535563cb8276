"""Packing the records routed to a worker into async Invoke payloads (pure).

Payload shape (what every worker receives; ``data`` is the user record's bytes, base64)::

    {"source": "shardline.dispatcher", "shardId": "shardId-000000000001",
     "eventSourceARN": "arn:aws:kinesis:...:stream/shardline-telemetry",
     "records": [{"sequenceNumber": "4959...", "subSequenceNumber": 0,
                  "partitionKey": "dev-00042", "approximateArrivalTimestamp": 1763900000.5,
                  "data": "eyJ2IjoxLC..."}]}

``subSequenceNumber`` is null for a record that was not KPL-aggregated. Each payload is at
most ``max_bytes`` (config.py says why 192 KiB); records keep their stream order, and a
payload names the Kinesis sequence numbers it carries, so a failed Invoke fails exactly
those Kinesis records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SOURCE = "shardline.dispatcher"


@dataclass(frozen=True, slots=True)
class Entry:
    """One user record bound for a worker, already serialized as a payload entry."""

    sequence_number: str
    body: bytes

    @classmethod
    def of(cls, sequence_number: str, sub_sequence_number: int | None, partition_key: str,
           arrival_s: float | None, data_b64: str) -> Entry:
        record = {"sequenceNumber": sequence_number, "subSequenceNumber": sub_sequence_number,
                  "partitionKey": partition_key, "approximateArrivalTimestamp": arrival_s,
                  "data": data_b64}
        return cls(sequence_number, json.dumps(record, separators=(",", ":")).encode())


@dataclass(slots=True)
class Payload:
    worker: str
    body: bytes
    sequence_numbers: set[str] = field(default_factory=set)
    records: int = 0


def _prefix(shard_id: str, event_source_arn: str | None) -> bytes:
    head = json.dumps({"source": SOURCE, "shardId": shard_id,
                       "eventSourceARN": event_source_arn}, separators=(",", ":"))
    return (head[:-1] + ',"records":[').encode()


_SUFFIX = b"]}"


def envelope_bytes(shard_id: str, event_source_arn: str | None) -> int:
    """Bytes of a payload with no records (what every payload spends on its envelope)."""
    return len(_prefix(shard_id, event_source_arn)) + len(_SUFFIX)


def pack(worker: str, entries: Iterable[Entry], *, shard_id: str,
         event_source_arn: str | None, max_bytes: int) -> list[Payload]:
    """The worker's entries in order, cut into payloads of at most ``max_bytes``. The caller
    keeps out an entry that does not fit an empty payload (``fits``)."""
    prefix = _prefix(shard_id, event_source_arn)
    payloads: list[Payload] = []
    current: list[Entry] = []
    size = len(prefix) + len(_SUFFIX)

    def close() -> None:
        if current:
            body = prefix + b",".join(e.body for e in current) + _SUFFIX
            payloads.append(Payload(worker, body, {e.sequence_number for e in current},
                                    len(current)))

    for entry in entries:
        added = len(entry.body) + (1 if current else 0)
        if current and size + added > max_bytes:
            close()
            current, size = [], len(prefix) + len(_SUFFIX)
            added = len(entry.body)
        current.append(entry)
        size += added
    close()
    return payloads


def fits(entry: Entry, envelope: int, max_bytes: int) -> bool:
    return envelope + len(entry.body) <= max_bytes


def failed_sequence_numbers(payloads: Sequence[Payload], failed: Sequence[bool]) -> set[str]:
    """Kinesis records carried by at least one payload whose Invoke failed."""
    return {seq for payload, bad in zip(payloads, failed, strict=True) if bad
            for seq in payload.sequence_numbers}


__all__ = ["SOURCE", "Entry", "Payload", "envelope_bytes", "failed_sequence_numbers",
           "fits", "pack"]
