"""The payload the fanout dispatcher sends to its workers, parsed into typed records.

The dispatcher invokes each worker asynchronously (``InvocationType=Event``) with::

    {"source": "shardline.dispatcher", "shardId": "shardId-000000000001",
     "eventSourceARN": "arn:aws:kinesis:…:stream/…",
     "records": [{"sequenceNumber": "4959…", "subSequenceNumber": 0 or null,
                  "partitionKey": "dev-00042", "approximateArrivalTimestamp": 1763900000.123,
                  "data": "<base64 of one telemetry v1 user record>"}]}

Async invoke is at least once and unordered: the same payload may arrive twice, and
payloads arrive in any order, so every worker is idempotent and order-insensitive.

Two levels of failure, treated differently:

* a payload whose envelope is malformed (not from the dispatcher's contract) raises
  ``InvalidPayload``: retrying cannot fix it, but failing keeps it — Lambda sends it,
  whole, to the worker's on-failure destination, where it can be inspected;
* a record whose ``data`` does not decode as telemetry is returned in ``rejected`` with a
  reason, for the worker to log and skip (the dispatcher validated it already; a worker
  never fails a payload for one record).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from lambdas.shared.telemetry import InvalidTelemetry, Telemetry, decode

DISPATCHER_SOURCE = "shardline.dispatcher"


class InvalidPayload(ValueError):
    """The payload does not follow the dispatcher's envelope; the message says where."""


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """One user record as the dispatcher handed it over (``data`` is the raw bytes)."""

    sequence_number: str
    sub_sequence_number: int | None
    partition_key: str
    arrival_s: float | None
    data: bytes

    @property
    def position(self) -> tuple[int, int]:
        """Stream order of the record: (sequence number, sub-sequence number or 0)."""
        return int(self.sequence_number), self.sub_sequence_number or 0

    def log_fields(self) -> dict[str, Any]:
        return {"sequence_number": self.sequence_number,
                "sub_sequence_number": self.sub_sequence_number,
                "partition_key": self.partition_key}


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    record: WorkerRecord
    telemetry: Telemetry


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    record: WorkerRecord
    reason: str


@dataclass(frozen=True, slots=True)
class WorkerPayload:
    shard_id: str
    event_source_arn: str
    records: tuple[WorkerRecord, ...]

    @classmethod
    def from_event(cls, event: Any) -> WorkerPayload:
        """Parse the dispatcher's payload; ``InvalidPayload`` when the envelope is wrong."""
        if not isinstance(event, dict):
            raise InvalidPayload(f"payload is {type(event).__name__}, not an object")
        shard_id = _text(event, "shardId", "$")
        arn = _text(event, "eventSourceARN", "$")
        records = event.get("records")
        if not isinstance(records, list):
            raise InvalidPayload("`$.records` is not a list")
        parsed = tuple(_record(raw, f"$.records[{index}]") for index, raw in enumerate(records))
        return cls(shard_id=shard_id, event_source_arn=arn, records=parsed)

    def decoded(self) -> tuple[list[DecodedRecord], list[RejectedRecord]]:
        """Every record decoded as telemetry, and those that are not, with the reason."""
        good: list[DecodedRecord] = []
        bad: list[RejectedRecord] = []
        for record in self.records:
            try:
                good.append(DecodedRecord(record, decode(record.data)))
            except InvalidTelemetry as exc:
                bad.append(RejectedRecord(record, exc.reason))
        return good, bad

    def decoded_logging_rejects(self, logger: Any) -> tuple[list[DecodedRecord], int]:
        """``decoded()`` for a worker's handler: each record that is not valid telemetry
        is logged (a warning with its position and reason) and skipped, never failed;
        returns the valid records and how many were skipped."""
        good, bad = self.decoded()
        for rejected in bad:
            logger.warning("record skipped: not valid telemetry",
                           extra={**rejected.record.log_fields(), "reason": rejected.reason})
        return good, len(bad)


def _text(raw: dict[str, Any], name: str, where: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidPayload(f"`{where}.{name}` is missing or not a non-empty string")
    return value


def _record(raw: Any, where: str) -> WorkerRecord:
    if not isinstance(raw, dict):
        raise InvalidPayload(f"`{where}` is not an object")
    sequence_number = _text(raw, "sequenceNumber", where)
    if not sequence_number.isdigit():
        raise InvalidPayload(f"`{where}.sequenceNumber` is not a decimal number")
    sub = raw.get("subSequenceNumber")
    if sub is not None and (type(sub) is not int or sub < 0):
        raise InvalidPayload(f"`{where}.subSequenceNumber` is not null or a whole number")
    arrival = raw.get("approximateArrivalTimestamp")
    if arrival is not None and (isinstance(arrival, bool)
                                or not isinstance(arrival, (int, float))):
        raise InvalidPayload(f"`{where}.approximateArrivalTimestamp` is not a number")
    try:
        data = base64.b64decode(_text(raw, "data", where), validate=True)
    except binascii.Error:
        raise InvalidPayload(f"`{where}.data` is not base64") from None
    return WorkerRecord(sequence_number=sequence_number, sub_sequence_number=sub,
                        partition_key=str(raw.get("partitionKey") or ""),
                        arrival_s=None if arrival is None else float(arrival), data=data)


__all__ = ["DISPATCHER_SOURCE", "DecodedRecord", "InvalidPayload", "RejectedRecord",
           "WorkerPayload", "WorkerRecord"]
