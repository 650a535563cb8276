"""Data access of the scheduled rollup: the run lease, pending-hour markers (every shard),
an hour's totals from the ``by_hour`` index, roll-up writes.

The client is created on first use and reused by later invocations of the execution
environment; no endpoint is configured here (boto3 reads ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from lambdas.scheduled_rollup.config import get_config
from lambdas.shared.aggregates import (
    HOUR_INDEX_NAME,
    HOUR_INDEX_PK,
    HOUR_INDEX_SHARDS,
    hour_index_key,
)
from lambdas.shared.dynamo import (
    BatchWriteReport,
    TableAccess,
    batch_write,
    read_items,
    serialize_item,
)
from lambdas.shared.markers import (
    LEASE_PK,
    SCHEDULED_ROLLUP_LEASE,
    lease_item,
    pending_partition_keys,
)
from lambdas.shared.retention import live_filter, with_expiry


class ScheduledRollupRepository(TableAccess):
    """Reads markers and totals from, and writes roll-ups to, the aggregates table."""

    def __init__(self, table_name: str, client: Any = None, *,
                 rollup_retention_days: int | None = None) -> None:
        super().__init__(table_name, client)
        self.rollup_retention_days = rollup_retention_days

    def take_lease(self, holder: str, *, now: int, duration_s: int) -> bool:
        """Take the run lease for ``duration_s`` seconds if nobody holds it (no lease item,
        or an expired one). False when another run holds it: then this run must not
        recompute anything."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=serialize_item(lease_item(SCHEDULED_ROLLUP_LEASE, holder,
                                               now + duration_s)),
                ConditionExpression="attribute_not_exists(PK) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_lease(self, holder: str) -> bool:
        """Delete the lease if ``holder`` still holds it (False if it expired and was taken
        over, or is gone: nothing to release)."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"PK": {"S": LEASE_PK}, "SK": {"S": SCHEDULED_ROLLUP_LEASE}},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": {"S": holder}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def pending_markers(self) -> Iterator[dict[str, Any]]:
        """Every pending-hour marker of every shard (and of the legacy partition), strongly
        consistent (a marker is the signal; reading a stale token would delete a
        re-mark)."""
        for partition in pending_partition_keys():
            yield from read_items(
                self.client, "query",
                TableName=self.table_name,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": partition}},
                ConsistentRead=True,
            )

    def hour_totals(self, hour: str) -> Iterator[dict[str, Any]]:
        """Every live minute total of ``hour``, from all shards of the ``by_hour`` index
        (eventually consistent: indexes offer no consistent reads)."""
        now = time.time()
        for shard in range(HOUR_INDEX_SHARDS):
            request = live_filter({
                "KeyConditionExpression": "#pk = :pk",
                "ExpressionAttributeNames": {"#pk": HOUR_INDEX_PK},
                "ExpressionAttributeValues": {":pk": {"S": hour_index_key(hour, shard)}},
            }, now)
            yield from read_items(self.client, "query", TableName=self.table_name,
                                  IndexName=HOUR_INDEX_NAME, **request)

    def write_rollups(self, items: Iterable[Mapping[str, Any]]) -> BatchWriteReport:
        """Put the roll-up items (whole-item puts of deterministic keys: idempotent), each
        expiring ``rollup_retention_days`` after the start of its period."""
        items = with_expiry(items, self.rollup_retention_days, "period")
        if not items:
            return BatchWriteReport()
        return batch_write(self.client, self.table_name, items)

    def delete_marker(self, partition: str, hour: str, token: str) -> bool:
        """Delete ``hour``'s marker in ``partition`` (its shard) if it still holds
        ``token``. False when it was re-marked (or deleted) meanwhile: then the hour is
        someone else's, or the next run's, to recompute — not an error."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"PK": {"S": partition}, "SK": {"S": hour}},
                ConditionExpression="#token = :seen",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":seen": {"S": token}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


@functools.cache
def default_repository() -> ScheduledRollupRepository:
    """The repository of this process, configured from the environment on first use."""
    config = get_config()
    return ScheduledRollupRepository(config.aggregates_table,
                                     rollup_retention_days=config.rollup_retention_days)


__all__ = ["ScheduledRollupRepository", "default_repository"]
