"""Reading the quarantine table: what the aggregator rejected and the losing versions of
conflicting readings the rollup found, in arrival order.

The table's layout is documented in ``lambdas/shared/quarantine.py`` and
``lambdas/shared/conflicts.py``. Expired items
(``expires_at`` in the past) are filtered out: DynamoDB deletes them only eventually.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lambdas.shared.dynamo import read_items
from shardline.errors import ShardlineError

DEFAULT_QUARANTINE_TABLE = "shardline-quarantine"


@dataclass(frozen=True)
class QuarantinedRecord:
    """One quarantined user record as listed by ``shardline quarantine list``."""

    shard_id: str
    sequence_number: str
    sub_sequence_number: int | None
    partition_key: str
    reason: str
    arrival_time: float | None
    quarantined_at: int
    data_bytes: int
    data_truncated: bool
    data_b64: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> QuarantinedRecord:
        sub = item.get("sub_sequence_number")
        arrival = item.get("arrival_time")
        return cls(
            shard_id=str(item["shard_id"]),
            sequence_number=str(item["sequence_number"]),
            sub_sequence_number=None if sub is None else int(sub),
            partition_key=str(item.get("partition_key") or ""),
            reason=str(item["reason"]),
            arrival_time=None if arrival is None else float(arrival),
            quarantined_at=int(item.get("quarantined_at", 0)),
            data_bytes=int(item.get("data_bytes", 0)),
            data_truncated=bool(item.get("data_truncated", False)),
            data_b64=str(item.get("data_b64", "")),
        )

    @property
    def seen_at(self) -> float:
        return self.arrival_time if self.arrival_time is not None else self.quarantined_at

    def as_row(self, *, with_data: bool) -> dict[str, Any]:
        row: dict[str, Any] = {
            "arrival": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.seen_at)),
            "shard": self.shard_id,
            "sequence_number": self.sequence_number,
            "sub_sequence": "-" if self.sub_sequence_number is None else self.sub_sequence_number,
            "partition_key": self.partition_key,
            "reason": self.reason,
            "bytes": self.data_bytes,
        }
        if with_data:
            row["truncated"] = self.data_truncated
            row["data_b64"] = self.data_b64
        return row


class QuarantineReader:
    """Lists the quarantine table (a Scan: the table holds only rejected records)."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self.client = client

    def _items(self) -> Iterator[dict[str, Any]]:
        return read_items(self.client, "scan", TableName=self.table_name)

    def records(self, *, since_s: float | None = None,
                now_s: float | None = None) -> list[QuarantinedRecord]:
        now_s = time.time() if now_s is None else now_s
        records = []
        for item in self._items():
            expires_at = item.get("expires_at")
            if expires_at is not None and int(expires_at) <= now_s:
                continue
            try:
                record = QuarantinedRecord.from_item(item)
            except (KeyError, TypeError, ValueError) as exc:
                raise ShardlineError(
                    f"table {self.table_name} holds an item that is not a quarantined record "
                    f"(missing or bad {exc}); is --table the quarantine table?") from None
            if since_s is not None and record.seen_at < since_s:
                continue
            records.append(record)
        # A conflict's losing version has no one Kinesis position (its copies may come
        # from several records): its shard and sequence number are empty.
        records.sort(key=lambda r: (r.seen_at, r.shard_id, int(r.sequence_number or -1),
                                    -1 if r.sub_sequence_number is None
                                    else r.sub_sequence_number))
        return records


__all__ = ["DEFAULT_QUARANTINE_TABLE", "QuarantineReader", "QuarantinedRecord"]
