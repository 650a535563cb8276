"""Data access of the rollup: read one device-minute's partials, write (and delete) minute
totals, mark the hours they belong to as pending for the scheduled rollup, and quarantine
the losing versions of conflicts.

The client is created on first use and reused by later invocations of the execution
environment; no endpoint is configured here (boto3 reads ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lambdas.rollup.config import get_config
from lambdas.rollup.logic import DeviceMinute
from lambdas.shared.aggregates import minute_partials_prefix
from lambdas.shared.dynamo import (
    DEFAULT_MAX_WORKERS,
    BatchWriteReport,
    TableAccess,
    batch_write,
    read_items,
)
from lambdas.shared.markers import pending_marker_item
from lambdas.shared.partials import device_partition_key
from lambdas.shared.retention import live_filter, with_expiry


class RollupRepository(TableAccess):
    """Reads partials from, and writes totals to, the aggregates table; writes conflict
    losers to the quarantine table when one is configured."""

    def __init__(self, table_name: str, client: Any = None, *,
                 quarantine_table: str | None = None,
                 minute_retention_days: int | None = None,
                 max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        super().__init__(table_name, client, max_workers=max_workers)
        self.quarantine_table = quarantine_table
        self.minute_retention_days = minute_retention_days

    def minute_partials(self, minute: DeviceMinute) -> Iterator[dict[str, Any]]:
        """Every live partial of one device-minute, strongly consistent: the partial
        whose stream record triggered the read is among them unless it was born expired
        (a late reading of a minute past its retention, ``retention.py``)."""
        request = live_filter({
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": device_partition_key(minute.device_id)},
                ":prefix": {"S": minute_partials_prefix(minute.bucket)},
            },
        }, time.time())
        return read_items(self.client, "query", TableName=self.table_name,
                          ConsistentRead=True, **request)

    def write_totals(self, items: Iterable[Mapping[str, Any]],
                     stale_keys: Iterable[Mapping[str, str]] = ()) -> BatchWriteReport:
        """Put the total items (whole-item puts: rewriting a total is idempotent), each
        expiring ``minute_retention_days`` after its minute, and delete the totals of
        metrics left with no reading."""
        items = with_expiry(items, self.minute_retention_days, "bucket")
        stale_keys = list(stale_keys)
        if not items and not stale_keys:
            return BatchWriteReport()
        return batch_write(self.client, self.table_name, items, delete_keys=stale_keys)

    def quarantine(self, items: Iterable[Mapping[str, Any]]) -> BatchWriteReport:
        """Put conflict items into the quarantine table (nothing when none is configured)."""
        items = list(items)
        if not items or not self.quarantine_table:
            return BatchWriteReport()
        return batch_write(self.client, self.quarantine_table, items)

    def mark_hours_pending(self, marks: Iterable[tuple[str, int]]) -> BatchWriteReport:
        """Mark each (hour, shard) pending for the scheduled rollup, with a fresh token:
        ``marks`` is ``pending_marks(totals)`` of the totals just written (each hour in
        the shards of its devices, so one batch's markers spread over partitions). Call it
        only once those totals are written: a marker is a promise that the totals it
        announces can be read."""
        now = int(time.time())
        markers = []
        for mark in sorted(set(marks)):
            if isinstance(mark, str):  # an hour alone names no shard
                raise TypeError(f"mark {mark!r} is not an (hour, shard) pair; "
                                "pass pending_marks(totals)")
            hour, shard = mark
            markers.append(pending_marker_item(hour, uuid.uuid4().hex, now, shard))
        if not markers:
            return BatchWriteReport()
        return batch_write(self.client, self.table_name, markers)


@functools.cache
def default_repository() -> RollupRepository:
    """The repository of this process, configured from the environment on first use."""
    config = get_config()
    return RollupRepository(config.aggregates_table, quarantine_table=config.quarantine_table,
                            minute_retention_days=config.minute_retention_days,
                            max_workers=max(DEFAULT_MAX_WORKERS, config.read_concurrency))


__all__ = ["RollupRepository", "default_repository"]
