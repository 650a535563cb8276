"""Data access of the aggregator: the DynamoDB client, partial-aggregate and quarantine writes.

The client is created on first use and reused by every later invocation of the execution
environment. No endpoint is configured here: boto3 reads ``AWS_ENDPOINT_URL`` (embedded
moto, LocalStack) or talks to AWS, so the code never knows which backend it is on.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from lambdas.aggregator.config import WriteTuning, get_config
from lambdas.shared.dynamo import BatchWriteReport, TableAccess, batch_write
from lambdas.shared.retention import with_expiry


class TableWriter(TableAccess):
    """Batched, idempotent puts to one table through the shared ``batch_write``."""

    # Retry budget cap for this table's writes (None: the configured budget).
    max_attempts_cap: int | None = None

    def __init__(self, table_name: str, write: WriteTuning | None = None, client: Any = None):
        self.write = write or WriteTuning()
        super().__init__(table_name, client, max_workers=self.write.max_workers)

    def put(self, items: Iterable[Mapping[str, Any]]) -> BatchWriteReport:
        """Put the items; ``BatchWriteError`` if the retry budget runs out."""
        items = list(items)
        if not items:
            return BatchWriteReport()
        max_attempts = self.write.max_attempts
        if self.max_attempts_cap is not None:
            max_attempts = min(max_attempts, self.max_attempts_cap)
        return batch_write(
            self.client,
            self.table_name,
            items,
            max_attempts=max_attempts,
            base_delay_s=self.write.base_delay_s,
            max_delay_s=self.write.max_delay_s,
            max_workers=self.write.max_workers,
        )


class AggregatesRepository(TableWriter):
    """Partial aggregates (idempotent: a replayed window rewrites the same keys), each
    expiring ``minute_retention_days`` after its event-time minute (``retention.py``)."""

    def __init__(self, table_name: str, write: WriteTuning | None = None, client: Any = None,
                 *, minute_retention_days: int | None = None) -> None:
        super().__init__(table_name, write, client)
        self.minute_retention_days = minute_retention_days

    def write_partials(self, items: Iterable[Mapping[str, Any]]) -> BatchWriteReport:
        return self.put(with_expiry(items, self.minute_retention_days, "bucket"))


class QuarantineRepository(TableWriter):
    """Quarantine items (``lambdas.shared.quarantine``; a re-delivered record rewrites
    its item)."""

    # Quarantine writes must never stall the shard: a smaller budget than partials.
    max_attempts_cap = 4

    def write_items(self, items: Iterable[Mapping[str, Any]]) -> BatchWriteReport:
        return self.put(items)


@functools.cache
def default_quarantine_repository() -> QuarantineRepository | None:
    """The quarantine repository of this process; None when QUARANTINE_TABLE is unset."""
    config = get_config()
    if not config.quarantine_table:
        return None
    return QuarantineRepository(config.quarantine_table, config.write,
                                client=default_repository().client)


@functools.cache
def default_repository() -> AggregatesRepository:
    """The repository of this process, configured from the environment on first use."""
    config = get_config()
    return AggregatesRepository(config.aggregates_table, config.write,
                                minute_retention_days=config.minute_retention_days)


def write_partials(items: Iterable[Mapping[str, Any]]) -> BatchWriteReport:
    return default_repository().write_partials(items)


__all__ = [
    "AggregatesRepository",
    "QuarantineRepository",
    "TableWriter",
    "default_quarantine_repository",
    "default_repository",
    "write_partials",
]
