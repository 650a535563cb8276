"""Data access of the dispatcher: async Invokes of its workers, quarantine writes.

One Lambda client and one thread pool per execution environment, created on first use
and reused by every later invocation. No endpoint is configured here: boto3 reads
``AWS_ENDPOINT_URL`` (embedded moto) or talks to AWS.

An Invoke counts as handed off only when Lambda answered 202 (queued for the worker);
an exception (throttling ``TooManyRequestsException`` once botocore's few retries are
spent, an access denial, a timeout) or any other status is a failure, and the records it
carried are reported to the event source mapping for retry.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dispatcher.config import get_config
from lambdas.shared.dynamo import BatchWriteReport, TableAccess, batch_write

ACCEPTED = 202
QUARANTINE_MAX_ATTEMPTS = 4  # never stall the shard for the quarantine store


@dataclass(frozen=True, slots=True)
class InvokeOutcome:
    ok: bool
    status: int | None = None
    error: str | None = None


class WorkerInvoker:
    """Async ``Invoke`` of worker functions, several in flight at once."""

    def __init__(self, concurrency: int, client: Any = None) -> None:
        self.concurrency = concurrency
        self._client = client
        self._pool: ThreadPoolExecutor | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            config = Config(retries={"mode": "standard", "max_attempts": 3},
                            max_pool_connections=max(10, self.concurrency))
            self._client = boto3.client("lambda", config=config)
        return self._client

    def invoke_one(self, function: str, body: bytes) -> InvokeOutcome:
        try:
            response = self.client.invoke(FunctionName=function, InvocationType="Event",
                                          Payload=body)
        except (ClientError, BotoCoreError) as exc:
            return InvokeOutcome(False, error=f"{type(exc).__name__}: {exc}")
        status = int(response.get("StatusCode", 0))
        if status != ACCEPTED:
            return InvokeOutcome(False, status, f"Invoke answered {status}, not 202")
        return InvokeOutcome(True, status)

    def invoke_all(self, calls: Sequence[tuple[str, bytes]]) -> list[InvokeOutcome]:
        """One outcome per (function, payload), in order."""
        if len(calls) <= 1 or self.concurrency == 1:
            return [self.invoke_one(function, body) for function, body in calls]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="invoke")
        return list(self._pool.map(lambda call: self.invoke_one(*call), calls))


class QuarantineWriter(TableAccess):
    """Quarantine items (lambdas/shared/quarantine.py), idempotent by key."""

    def write_items(self, items: Iterable[Mapping[str, Any]]) -> BatchWriteReport:
        return batch_write(self.client, self.table_name, list(items),
                           max_attempts=QUARANTINE_MAX_ATTEMPTS)


@functools.cache
def default_invoker() -> WorkerInvoker:
    return WorkerInvoker(get_config().invoke_concurrency)


@functools.cache
def default_quarantine_writer() -> QuarantineWriter | None:
    table = get_config().quarantine_table
    return QuarantineWriter(table) if table else None


__all__ = ["InvokeOutcome", "QuarantineWriter", "WorkerInvoker", "default_invoker",
           "default_quarantine_writer"]
