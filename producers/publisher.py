"""PutRecords with partial-failure retry: nothing accepted twice, nothing lost silently.

PutRecords succeeds or fails *per record*: a call can return HTTP 200 with
``FailedRecordCount > 0`` and an ``ErrorCode`` on some entries. Those records were not
written; only they are sent again, after a capped exponential backoff with full jitter.
Whole-call throttling errors are retried the same way. Every record has a budget of
``max_attempts`` sends; when one runs out the publisher stops and raises ``PublishError``
carrying every record that was not accepted, in input order, so the caller can re-drive
them. Records that *were* accepted are reported through ``on_accepted`` as soon as the
response says so, which keeps a manifest of accepted records exact even when a publish
ends in an error.

Ordering per partition key (device): records of a key are sent in input order, and once a
record fails, no record of its key that has not been sent yet goes out until the failed
one is accepted — records of other keys keep flowing, and a throttled shard is not fed
more while it recovers. The one reordering left is the one PutRecords allows inside a
call: when a call carries several records of a key and an earlier one fails while a later
one is accepted, the later one is in the stream first (as with the KPL). Callers that must
rule that out too pass ``max_per_key_per_call=1`` (the KPL aggregation in
``producers.aggregation`` does, with the shard as the ordering key). ``publish`` returns
only when all its records are accepted, so order across ``publish`` calls holds too.
Consumers that must not depend on order (DESIGN.md: device-state keeps the highest
``seq``; aggregates key on event time) stay correct either way.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.shared.backoff import FullJitterBackoff

MAX_RECORDS_PER_CALL = 500
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# The default per-record limit; a stream can be raised to 10 MiB (UpdateMaxRecordSize).
MAX_RECORD_BYTES = 1024 * 1024
MAX_PARTITION_KEY_CHARS = 256

THROTTLED = "ProvisionedThroughputExceededException"
# Whole-call errors that mean "slow down and try again"; anything else (missing stream,
# access denied, validation) will not improve by retrying and is raised at once.
RETRYABLE_CALL_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "KMSThrottlingException",
        "LimitExceededException",
        "InternalFailureException",
    }
)


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


@dataclass(slots=True)
class PublishReport:
    """Counters of what publishing did; ``merge`` sums reports.

    ``accepted`` counts user records and ``kinesis_records`` the Kinesis records that
    carried them (equal unless records are KPL-aggregated); ``bytes_accepted`` is the
    Kinesis records' data + partition keys. ``calls`` counts PutRecords calls (throttled
    ones included), ``failed_records`` the per-record failures and ``retried`` the records
    sent again (Kinesis records: an aggregate fails and is retried whole),
    ``throttled_calls`` the whole calls rejected by throttling. ``error_codes`` counts
    per-record ErrorCodes once per failed record and whole-call errors once per call.
    ``unexpected_shard`` counts accepted records that landed on a shard other than their
    ``expected_shard_id``. ``throttled_records`` counts the per-record failures that were
    ``ProvisionedThroughputExceededException`` (the shard's write limits).
    """

    calls: int = 0
    accepted: int = 0
    kinesis_records: int = 0
    bytes_accepted: int = 0
    unexpected_shard: int = 0
    failed_records: int = 0
    retried: int = 0
    throttled_calls: int = 0
    throttled_records: int = 0
    backoff_s: float = 0.0
    error_codes: Counter[str] = field(default_factory=Counter)

    def merge(self, other: PublishReport) -> None:
        self.calls += other.calls
        self.accepted += other.accepted
        self.kinesis_records += other.kinesis_records
        self.bytes_accepted += other.bytes_accepted
        self.unexpected_shard += other.unexpected_shard
        self.failed_records += other.failed_records
        self.retried += other.retried
        self.throttled_calls += other.throttled_calls
        self.throttled_records += other.throttled_records
        self.backoff_s += other.backoff_s
        self.error_codes.update(other.error_codes)


class InvalidEntryError(ValueError):
    """An entry PutRecords would reject whatever we do (too large, bad partition key).

    Raised before anything of the ``publish`` call is sent, so nothing is half-written.
    """


class PublishError(RuntimeError):
    """Some records were not accepted; ``unaccepted`` holds them, in input order."""

    def __init__(self, message: str, unaccepted: Sequence[PutEntry], report: PublishReport):
        super().__init__(message)
        self.unaccepted: list[PutEntry] = list(unaccepted)
        self.report = report


@dataclass(slots=True)
class _Pending:
    """An entry on its way: its input position (for ordering) and failed sends so far."""

    order: int
    entry: PutEntry
    size: int
    failures: int = 0

    @property
    def key(self) -> str:
        return self.entry.order_key


class _Scheduler:
    """Chooses the records of each call so that retries add no reordering of a key.

    Three queues, each in input order: ``retries`` (sent, failed), ``held`` (never sent,
    waiting behind a failed record of their key) and ``fresh``. Every ``held`` record is
    older than every ``fresh`` one, because records only move from fresh to held.
    """

    def __init__(self, pending: Iterable[_Pending]) -> None:
        self._retries: list[_Pending] = []
        self._held: deque[_Pending] = deque()
        self._fresh: deque[_Pending] = deque(pending)

    def __bool__(self) -> bool:
        return bool(self._retries or self._held or self._fresh)

    def next_batch(
        self, max_records: int, max_bytes: int, max_per_key: int | None = None
    ) -> list[_Pending]:
        batch: list[_Pending] = []
        size = 0
        per_key: Counter[str] = Counter()
        # Keys with a failed record still waiting: none of their unsent records may go
        # until it is accepted (this also takes load off a throttled shard).
        blocked = {pending.key for pending in self._retries}

        def fits(pending: _Pending) -> bool:
            return len(batch) < max_records and size + pending.size <= max_bytes

        def key_full(pending: _Pending) -> bool:
            return max_per_key is not None and per_key[pending.key] >= max_per_key

        def take(pending: _Pending) -> None:
            nonlocal size
            batch.append(pending)
            size += pending.size
            per_key[pending.key] += 1

        # Retries go first, oldest first, so a failed record is never overtaken by a
        # record of its key sent in a later call.
        waiting: list[_Pending] = []
        for index, pending in enumerate(self._retries):
            if not fits(pending):
                waiting.extend(self._retries[index:])
                break
            if key_full(pending):
                waiting.append(pending)
            else:
                take(pending)
        self._retries = waiting

        held_next: deque[_Pending] = deque()
        full = False
        for source in (self._held, self._fresh):
            while source and not full:
                pending = source[0]
                # A key at its per-call quota waits like a blocked one, so its later
                # records cannot overtake it either.
                if pending.key in blocked or key_full(pending):
                    held_next.append(source.popleft())
                elif fits(pending):
                    take(source.popleft())
                else:
                    full = True  # leave it and everything after it where it is
        # Scanned-and-held records are older than the unscanned rest of ``held``.
        held_next.extend(self._held)
        self._held = held_next
        return batch

    def requeue_failed(self, failed: Iterable[_Pending]) -> None:
        self._retries = sorted([*self._retries, *failed], key=lambda pending: pending.order)

    def remaining(self) -> list[PutEntry]:
        everything = [*self._retries, *self._held, *self._fresh]
        return [pending.entry for pending in sorted(everything, key=lambda p: p.order)]


class KinesisPublisher:
    """Puts user records into one Kinesis stream with PutRecords, retrying failures.

    ``stream_name`` may also be a stream ARN. ``self.report`` accumulates over all
    ``publish`` calls; each call also returns its own report.
    """

    def __init__(
        self,
        stream_name: str,
        client: Any,
        *,
        max_attempts: int = 8,
        base_delay_s: float = 0.05,
        max_delay_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        max_records_per_call: int = MAX_RECORDS_PER_CALL,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if not 1 <= max_records_per_call <= MAX_RECORDS_PER_CALL:
            raise ValueError(f"max_records_per_call must be in 1..{MAX_RECORDS_PER_CALL}")
        self.stream_name = stream_name
        self._client = client
        self._stream_param = "StreamARN" if stream_name.startswith("arn:") else "StreamName"
        self.max_attempts = max_attempts
        self.max_records_per_call = max_records_per_call
        self.max_request_bytes = max_request_bytes
        # A record larger than a whole request could never be sent either.
        self.max_record_bytes = min(max_record_bytes, max_request_bytes)
        self._backoff = FullJitterBackoff(base_delay_s, max_delay_s, rng or random.Random())
        self._sleep = sleep
        self.report = PublishReport()

    @property
    def client(self) -> Any:
        """The Kinesis client the publisher puts with (e.g. to read the shard map)."""
        return self._client

    def publish(
        self,
        entries: Iterable[EntryLike],
        *,
        on_accepted: Callable[[PutEntry], None] | None = None,
        max_per_key_per_call: int | None = None,
    ) -> PublishReport:
        """Put all ``entries``; return this call's report once every one is accepted.

        ``max_per_key_per_call`` caps the records of one ordering key in a call (``None``:
        no cap); 1 rules out the reordering a partly failed call could cause.

        Raises ``InvalidEntryError`` (nothing sent) for an entry that can never be
        accepted, and ``PublishError`` (with ``unaccepted``) when the retry budget runs
        out or the stream rejects the call for a reason retrying cannot fix.
        """
        if max_per_key_per_call is not None and max_per_key_per_call < 1:
            raise ValueError("max_per_key_per_call must be >= 1")
        scheduler = _Scheduler(self._prepare(entries))
        report = PublishReport()
        try:
            while scheduler:
                batch = scheduler.next_batch(
                    self.max_records_per_call, self.max_request_bytes, max_per_key_per_call
                )
                # Cannot happen (a record always fits an empty call); never spin if it does.
                if not batch:
                    raise RuntimeError("publisher scheduled an empty PutRecords call")
                self._wait_before_retry(batch, report)
                failed = self._send(batch, scheduler, report, on_accepted)
                scheduler.requeue_failed(failed)
                exhausted = [p for p in failed if p.failures >= self.max_attempts]
                if exhausted:
                    raise self._budget_error(exhausted, scheduler, report)
        finally:
            self.report.merge(report)
        return report

    # -- steps -----------------------------------------------------------------------

    def _prepare(self, entries: Iterable[EntryLike]) -> list[_Pending]:
        return [
            _Pending(order, entry, entry.size)
            for order, entry in enumerate(coerce_entries(entries, self.max_record_bytes))
        ]

    def _wait_before_retry(self, batch: list[_Pending], report: PublishReport) -> None:
        retries = [pending.failures for pending in batch if pending.failures]
        if not retries:
            return
        report.retried += len(retries)
        delay = self._backoff.delay(max(retries) - 1)
        report.backoff_s += delay
        self._sleep(delay)

    def _send(
        self,
        batch: list[_Pending],
        scheduler: _Scheduler,
        report: PublishReport,
        on_accepted: Callable[[PutEntry], None] | None,
    ) -> list[_Pending]:
        """One PutRecords call; returns the records that failed (failures counted)."""
        report.calls += 1
        try:
            response = self._client.put_records(
                **{self._stream_param: self.stream_name},
                Records=[pending.entry.to_request() for pending in batch],
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            report.error_codes[code] += 1
            if code not in RETRYABLE_CALL_ERRORS:
                reason = f"{code}: {_message(exc)}"
                raise self._call_error(reason, batch, scheduler, report) from exc
            report.throttled_calls += 1
            for pending in batch:
                pending.failures += 1
            return batch
        except BotoCoreError as exc:
            raise self._call_error(str(exc), batch, scheduler, report) from exc
        return self._settle(batch, response, scheduler, report, on_accepted)

    def _settle(
        self,
        batch: list[_Pending],
        response: dict[str, Any],
        scheduler: _Scheduler,
        report: PublishReport,
        on_accepted: Callable[[PutEntry], None] | None,
    ) -> list[_Pending]:
        results = response.get("Records") or []
        if len(results) != len(batch):
            # Without a result per record we cannot tell what was written; stop loudly.
            raise self._call_error(
                f"response has {len(results)} results for {len(batch)} records",
                batch, scheduler, report,
            )
        failed = []
        for pending, result in zip(batch, results, strict=True):
            code = result.get("ErrorCode")
            if code:
                pending.failures += 1
                report.failed_records += 1
                report.error_codes[code] += 1
                if code == THROTTLED:
                    report.throttled_records += 1
                failed.append(pending)
                continue
            report.accepted += pending.entry.user_records
            report.kinesis_records += 1
            report.bytes_accepted += pending.size
            expected = pending.entry.expected_shard_id
            if expected is not None and result.get("ShardId") not in (None, expected):
                report.unexpected_shard += 1
            if on_accepted is not None:
                on_accepted(pending.entry)
        return failed

    # -- errors ----------------------------------------------------------------------

    def _budget_error(
        self, exhausted: list[_Pending], scheduler: _Scheduler, report: PublishReport
    ) -> PublishError:
        unaccepted = scheduler.remaining()
        first = min(exhausted, key=lambda pending: pending.order)
        return PublishError(
            f"{len(unaccepted)} records not accepted by stream {self.stream_name!r}: "
            f"{len(exhausted)} failed {self.max_attempts} attempts "
            f"(first: partition key {first.key!r}); "
            f"errors so far: {_codes(report.error_codes)}",
            unaccepted,
            report,
        )

    def _call_error(
        self, reason: str, batch: list[_Pending], scheduler: _Scheduler, report: PublishReport
    ) -> PublishError:
        scheduler.requeue_failed(batch)  # the call's records are not accepted either
        unaccepted = scheduler.remaining()
        return PublishError(
            f"{len(unaccepted)} records not accepted by stream {self.stream_name!r}: "
            f"PutRecords failed: {reason}",
            unaccepted,
            report,
        )


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


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")).strip() or "no message"


def _codes(counts: Counter[str]) -> str:
    return ", ".join(f"{code} x{n}" for code, n in counts.most_common()) or "none"


__all__ = [
    "MAX_RECORDS_PER_CALL",
    "MAX_RECORD_BYTES",
    "MAX_REQUEST_BYTES",
    "RETRYABLE_CALL_ERRORS",
    "EntryLike",
    "InvalidEntryError",
    "KinesisPublisher",
    "PublishError",
    "PublishReport",
    "PutEntry",
    "coerce_entries",
]
