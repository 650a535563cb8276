"""The DynamoDB batch helpers of shardline: ``batch_write`` and ``batch_get``.

``batch_write`` puts many items with BatchWriteItem the way AWS asks callers to
(AWS-SEMANTICS.md, "DynamoDB"): at most 25 put requests per call, calls run in parallel on
a small thread pool, ``UnprocessedItems`` and throttling errors retried with full-jitter
exponential backoff, within a bounded number of attempts per call. When the budget runs
out it raises ``BatchWriteError`` saying how many items were not written, so a caller on a
stream (the aggregator's final window invoke) fails and is retried instead of losing data.

Items are resource-level Python values (``str``, ``int``, ``Decimal``, ``bytes``, ...;
not ``float``) and are serialised with boto3's ``TypeSerializer``. Writes are puts of
whole items, so every caller that derives keys deterministically gets idempotent writes.

``batch_get`` reads many items by key with BatchGetItem the same way: at most 100 keys per
call, ``UnprocessedKeys`` (throttling, or a response cut at 16 MB) and throttling errors
retried with the same backoff, ``BatchGetError`` when keys are still unread.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas.shared.backoff import FullJitterBackoff

MAX_BATCH_SIZE = 25
MAX_GET_BATCH_SIZE = 100  # keys per BatchGetItem call
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BASE_DELAY_S = 0.05
DEFAULT_MAX_DELAY_S = 2.0
DEFAULT_MAX_WORKERS = 4

# Error codes DynamoDB returns when a retry later can succeed.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

WriteRequest = dict[str, Any]
P = TypeVar("P")  # the payload of one chunk: write requests, or keys to read


class BatchGetError(RuntimeError):
    """Some keys were not read within the retry budget (or the call was rejected)."""


class BatchWriteError(RuntimeError):
    """Some items were not written within the retry budget (or were rejected)."""

    def __init__(self, message: str, *, unwritten: int, report: BatchWriteReport) -> None:
        super().__init__(message)
        self.unwritten = unwritten
        self.report = report


@dataclass(slots=True)
class BatchWriteReport:
    """What one ``batch_write`` did: BatchWriteItem calls, distinct items, retried calls."""

    calls: int = 0
    items: int = 0
    retries: int = 0
    duplicates: int = 0
    unwritten: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ChunkOutcome:
    """What sending one chunk did: calls made, retried calls, requests left unapplied and
    the last error (a code, ``Unprocessed...``, or a refusal with its message)."""

    calls: int = 0
    retries: int = 0
    left: int = 0
    error: str | None = None


def new_client(max_workers: int = DEFAULT_MAX_WORKERS) -> Any:
    """A DynamoDB client for a function's data-access layer.

    No endpoint is configured here: boto3 reads ``AWS_ENDPOINT_URL`` (embedded moto,
    LocalStack) or talks to AWS. ``batch_write`` retries throttling itself, so botocore's
    own retries stay short and the two layers do not multiply into a long stall.
    """
    config = Config(retries={"mode": "standard", "max_attempts": 3},
                    max_pool_connections=max(10, max_workers))
    return boto3.client("dynamodb", config=config)


class TableAccess:
    """One table and its client, created on first use and reused by every later invocation
    of the execution environment (a test passes its own)."""

    def __init__(self, table_name: str, client: Any = None, *,
                 max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        self.table_name = table_name
        self._client = client
        self._max_workers = max_workers

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = new_client(self._max_workers)
        return self._client


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Resource-level item → low-level attribute values (``{"S": ...}``, ``{"N": ...}``)."""
    return {name: _serializer.serialize(value) for name, value in item.items()}


def deserialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Low-level attribute values → resource-level item (numbers as ``Decimal``)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def read_items(client: Any, operation: str, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item a ``query`` or ``scan`` returns, across its 1 MB pages, deserialised."""
    for page in client.get_paginator(operation).paginate(**request):
        for raw in page.get("Items", []):
            yield deserialize_item(raw)


def dedupe_items(
    items: Iterable[Mapping[str, Any]], key_attributes: Sequence[str]
) -> tuple[list[Mapping[str, Any]], int]:
    """Keep the last item per key (as sequential puts would); return items and drop count."""
    by_key: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    seen = 0
    for item in items:
        seen += 1
        by_key[tuple(item[name] for name in key_attributes)] = item
    return list(by_key.values()), seen - len(by_key)


def backoff_delay(
    attempt: int, base_delay_s: float, max_delay_s: float, rng: random.Random
) -> float:
    """Full jitter: uniform in [0, min(max, base * 2**attempt)] (attempt counts from 0)."""
    return FullJitterBackoff(base_delay_s, max_delay_s, rng).delay(attempt)


def batch_write(
    client: Any,
    table_name: str,
    items: Iterable[Mapping[str, Any]],
    *,
    delete_keys: Iterable[Mapping[str, Any]] = (),
    key_attributes: Sequence[str] = ("PK", "SK"),
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    base_delay_s: float = DEFAULT_BASE_DELAY_S,
    max_delay_s: float = DEFAULT_MAX_DELAY_S,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    max_workers: int = DEFAULT_MAX_WORKERS,
) -> BatchWriteReport:
    """Put ``items`` into ``table_name`` and delete the items of ``delete_keys``; raise
    ``BatchWriteError`` if any request is left unapplied.

    ``max_attempts`` bounds the BatchWriteItem calls made for each chunk of 25 items (the
    first call included). Items sharing ``key_attributes`` are deduplicated, last one
    wins, because DynamoDB rejects a batch that names the same key twice.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    unique, duplicates = dedupe_items(items, key_attributes)
    put_keys = {tuple(item[name] for name in key_attributes) for item in unique}
    deletes = [key for key in dedupe_items(delete_keys, key_attributes)[0]
               if tuple(key[name] for name in key_attributes) not in put_keys]
    report = BatchWriteReport(items=len(unique) + len(deletes), duplicates=duplicates)
    if not report.items:
        return report

    requests: list[WriteRequest] = [
        {"PutRequest": {"Item": serialize_item(item)}} for item in unique]
    requests += [{"DeleteRequest": {"Key": serialize_item(key)}} for key in deletes]
    chunks = [requests[i : i + MAX_BATCH_SIZE] for i in range(0, len(requests), MAX_BATCH_SIZE)]
    jittered_sleep = _jittered_sleep(base_delay_s, max_delay_s, rng, sleep)

    def unprocessed(pending: list[WriteRequest]) -> list[WriteRequest]:
        response = client.batch_write_item(RequestItems={table_name: pending})
        return list(response.get("UnprocessedItems", {}).get(table_name, []))

    def write_chunk(chunk: list[WriteRequest]) -> _ChunkOutcome:
        return _send_chunk(unprocessed, chunk, len, "UnprocessedItems", max_attempts,
                           jittered_sleep)

    workers = max(1, min(max_workers, len(chunks)))
    if workers == 1:
        outcomes = [write_chunk(chunk) for chunk in chunks]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch-write") as pool:
            outcomes = list(pool.map(write_chunk, chunks))

    for outcome in outcomes:
        report.calls += outcome.calls
        report.retries += outcome.retries
        report.unwritten += outcome.left
        if outcome.error:
            report.errors.append(outcome.error)
    if report.unwritten:
        detail = f" ({'; '.join(sorted(set(report.errors)))})" if report.errors else ""
        raise BatchWriteError(
            f"{report.unwritten} of {report.items} items were not written to {table_name} "
            f"after {report.calls} BatchWriteItem calls{detail}",
            unwritten=report.unwritten,
            report=report,
        )
    return report


def batch_get(
    client: Any,
    table_name: str,
    keys: Iterable[Mapping[str, Any]],
    *,
    key_attributes: Sequence[str] = ("PK", "SK"),
    consistent_read: bool = False,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    base_delay_s: float = DEFAULT_BASE_DELAY_S,
    max_delay_s: float = DEFAULT_MAX_DELAY_S,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The items of ``keys`` that exist, deserialised, by their ``key_attributes`` values;
    raise ``BatchGetError`` if any key is left unread after ``max_attempts`` calls for its
    chunk of 100. Repeated keys are read once (DynamoDB rejects a batch naming one twice)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    jittered_sleep = _jittered_sleep(base_delay_s, max_delay_s, rng, sleep)
    unique = dedupe_items(keys, key_attributes)[0]
    found: dict[tuple[Any, ...], dict[str, Any]] = {}

    def unprocessed(pending: dict[str, Any]) -> dict[str, Any]:
        response = client.batch_get_item(RequestItems={table_name: pending})
        for raw in response.get("Responses", {}).get(table_name, []):
            item = deserialize_item(raw)
            found[tuple(item[name] for name in key_attributes)] = item
        return dict(response.get("UnprocessedKeys", {}).get(table_name, {}))

    for start in range(0, len(unique), MAX_GET_BATCH_SIZE):
        chunk = {"Keys": [serialize_item(key) for key in
                          unique[start:start + MAX_GET_BATCH_SIZE]],
                 "ConsistentRead": consistent_read}
        outcome = _send_chunk(unprocessed, chunk, lambda pending: len(pending.get("Keys", ())),
                              "UnprocessedKeys", max_attempts, jittered_sleep)
        if outcome.left:
            raise BatchGetError(f"{outcome.left} keys of {table_name} were not read after "
                                f"{outcome.calls} BatchGetItem calls ({outcome.error})")
    return found


def _jittered_sleep(base_delay_s: float, max_delay_s: float, rng: random.Random | None,
                    sleep: Callable[[float], None]) -> Callable[[int], None]:
    """``sleep`` for a full-jitter delay before retry ``attempt`` (0 = first retry); safe
    to share between the threads of one batch (one ``rng`` behind a lock)."""
    rng = rng if rng is not None else random.Random()
    lock = threading.Lock()

    def jittered(attempt: int) -> None:
        with lock:
            delay = backoff_delay(attempt, base_delay_s, max_delay_s, rng)
        sleep(delay)

    return jittered


def _send_chunk(
    send: Callable[[P], P],
    pending: P,
    size: Callable[[P], int],
    unprocessed_error: str,
    max_attempts: int,
    jittered_sleep: Callable[[int], None],
) -> _ChunkOutcome:
    """Send one chunk (``send`` returns what the service left unprocessed) until nothing is
    left: the leftover and retryable errors are sent again after a jittered sleep, at most
    ``max_attempts`` calls; a refusal stops at once with the chunk's requests left."""
    outcome = _ChunkOutcome()
    for attempt in range(max_attempts):
        if attempt:
            outcome.retries += 1
            jittered_sleep(attempt - 1)
        outcome.calls += 1
        try:
            pending = send(pending)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            if code in RETRYABLE_ERROR_CODES:
                outcome.error = code
                continue
            outcome.left = size(pending)
            outcome.error = f"{code}: {error.get('Message', '')}"
            return outcome
        if not size(pending):
            outcome.error = None
            return outcome
        outcome.error = unprocessed_error
    outcome.left = size(pending)
    return outcome


__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_GET_BATCH_SIZE",
    "RETRYABLE_ERROR_CODES",
    "BatchGetError",
    "BatchWriteError",
    "BatchWriteReport",
    "backoff_delay",
    "batch_get",
    "batch_write",
    "dedupe_items",
    "deserialize_item",
    "read_items",
    "serialize_item",
]
