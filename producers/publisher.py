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
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.shared.backoff import FullJitterBackoff
from producers.publish_report import PublishReport
from producers.put_entries import (
    MAX_RECORD_BYTES,
    MAX_RECORDS_PER_CALL,
    MAX_REQUEST_BYTES,
    EntryLike,
    PutEntry,
    coerce_entries,
)
from producers.put_scheduler import PendingEntry, PutScheduler

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


class PublishError(RuntimeError):
    """Some records were not accepted; ``unaccepted`` holds them, in input order."""

    def __init__(self, message: str, unaccepted: Sequence[PutEntry], report: PublishReport):
        super().__init__(message)
        self.unaccepted: list[PutEntry] = list(unaccepted)
        self.report = report


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
        scheduler = PutScheduler(self._prepare(entries))
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

    def _prepare(self, entries: Iterable[EntryLike]) -> list[PendingEntry]:
        return [
            PendingEntry(order, entry, entry.size)
            for order, entry in enumerate(coerce_entries(entries, self.max_record_bytes))
        ]

    def _wait_before_retry(self, batch: list[PendingEntry], report: PublishReport) -> None:
        retries = [pending.failures for pending in batch if pending.failures]
        if not retries:
            return
        report.retried += len(retries)
        delay = self._backoff.delay(max(retries) - 1)
        report.backoff_s += delay
        self._sleep(delay)

    def _send(
        self,
        batch: list[PendingEntry],
        scheduler: PutScheduler,
        report: PublishReport,
        on_accepted: Callable[[PutEntry], None] | None,
    ) -> list[PendingEntry]:
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
        batch: list[PendingEntry],
        response: dict[str, Any],
        scheduler: PutScheduler,
        report: PublishReport,
        on_accepted: Callable[[PutEntry], None] | None,
    ) -> list[PendingEntry]:
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
        self, exhausted: list[PendingEntry], scheduler: PutScheduler, report: PublishReport
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
        self, reason: str, batch: list[PendingEntry], scheduler: PutScheduler, report: PublishReport
    ) -> PublishError:
        scheduler.requeue_failed(batch)  # the call's records are not accepted either
        unaccepted = scheduler.remaining()
        return PublishError(
            f"{len(unaccepted)} records not accepted by stream {self.stream_name!r}: "
            f"PutRecords failed: {reason}",
            unaccepted,
            report,
        )


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")).strip() or "no message"


def _codes(counts: Counter[str]) -> str:
    return ", ".join(f"{code} x{n}" for code, n in counts.most_common()) or "none"


__all__ = [
    "RETRYABLE_CALL_ERRORS",
    "KinesisPublisher",
    "PublishError",
    "PublishReport",
    "PutEntry",
]
