"""What one PutRecords entry is, and the limits that decide whether Kinesis can ever
accept it.

``coerce_entries`` turns the caller's entries (``PutEntry`` or ``(partition key, data,
payload)`` tuples) into ``PutEntry`` objects and refuses, with ``InvalidEntryError``, an
entry no retry could get accepted (a partition key of the wrong length, data that is not
bytes, a record over the size limit), before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_RECORDS_PER_CALL = 500
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# The default per-record limit; a stream can be raised to 10 MiB (UpdateMaxRecordSize).
MAX_RECORD_BYTES = 1024 * 1024
MAX_PARTITION_KEY_CHARS = 256


@dataclass(frozen=True, slots=True)
class PutEntry:
    """One user record to put: its partition key, its bytes, and the caller's object.

    ``payload`` is not sent; it rides along so ``on_accepted`` can count the original
    record (e.g. the ``TelemetryV1``) without decoding the bytes again.
    """

    partition_key: str
    data: bytes
    payload: Any = None
    explicit_hash_key: str | None = None
    # Records sharing an ordering key keep their order (default: the partition key). A
    # KPL aggregate carries many partition keys, so it orders by its shard instead.
    ordering_key: str | None = None
    # How many user records this Kinesis record carries (a KPL aggregate: many); the
    # report's ``accepted`` counts these, so it means the same with or without aggregation.
    user_records: int = 1
    # The shard the caller predicted from its shard map; a result on another shard means
    # the map is stale (the stream was resharded) and is counted in the report.
    expected_shard_id: str | None = None

    @property
    def order_key(self) -> str:
        return self.ordering_key if self.ordering_key is not None else self.partition_key

    @property
    def size(self) -> int:
        """Bytes counted against the record and request limits: data + partition key."""
        return len(self.data) + len(self.partition_key.encode("utf-8"))

    def to_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"PartitionKey": self.partition_key, "Data": self.data}
        if self.explicit_hash_key is not None:
            request["ExplicitHashKey"] = self.explicit_hash_key
        return request


EntryLike = PutEntry | tuple[str, bytes, Any]


class InvalidEntryError(ValueError):
    """An entry PutRecords would reject whatever we do (too large, bad partition key).

    Raised before anything of the ``publish`` call is sent, so nothing is half-written.
    """


def coerce_entries(entries: Iterable[EntryLike], max_record_bytes: int) -> list[PutEntry]:
    """``entries`` as ``PutEntry`` objects, each one PutRecords could accept.

    Raises ``InvalidEntryError`` naming the first entry that can never be accepted.
    """
    coerced = []
    for order, item in enumerate(entries):
        entry = item if isinstance(item, PutEntry) else PutEntry(*item)
        _validate(order, entry, max_record_bytes)
        coerced.append(entry)
    return coerced


def _validate(order: int, entry: PutEntry, max_record_bytes: int) -> None:
    if not 1 <= len(entry.partition_key) <= MAX_PARTITION_KEY_CHARS:
        raise InvalidEntryError(
            f"entry {order}: partition key must be 1-{MAX_PARTITION_KEY_CHARS} "
            f"characters, got {len(entry.partition_key)}"
        )
    if not isinstance(entry.data, bytes | bytearray):
        raise InvalidEntryError(
            f"entry {order} (partition key {entry.partition_key!r}): data must be bytes, "
            f"got {type(entry.data).__name__}"
        )
    if entry.size > max_record_bytes:
        raise InvalidEntryError(
            f"entry {order} (partition key {entry.partition_key!r}) is {entry.size} bytes "
            f"with its partition key; the stream accepts at most {max_record_bytes}"
        )


__all__ = [
    "MAX_PARTITION_KEY_CHARS",
    "MAX_RECORDS_PER_CALL",
    "MAX_RECORD_BYTES",
    "MAX_REQUEST_BYTES",
    "EntryLike",
    "InvalidEntryError",
    "PutEntry",
    "coerce_entries",
]
