"""Rollup Lambda: the aggregates table's stream → per-minute totals in the same table.

Event source mapping: the aggregates table's DynamoDB stream (NEW_IMAGE),
BisectBatchOnFunctionError, FunctionResponseTypes=ReportBatchItemFailures and a
FilterCriteria that passes only inserted or modified partials (terraform/rollup.tf).
Handler string: ``lambdas.rollup.handler.lambda_handler``.

For every partial inserted or modified in the batch, the device-minute it belongs to is
merged from *all* of its partials (every reading counted once, ``minute_merge.py``) and
its per-metric totals are written whole, once per device-minute however many of its
partials the batch holds. Recomputing (never incrementing) makes a re-delivered record
harmless. Items that are not partials (the totals written here, the pending-hour markers
and the scheduled rollup's roll-ups included) are ignored, so writes of the platform's
own do not trigger more work; the mapping's filter already keeps them (and every REMOVE,
TTL expiry included) from invoking the function at all, this guard is defence in depth.
The losing versions of conflicting readings go to the quarantine table
(``lambdas/shared/conflicts.py``).

Once the totals are written, each hour they belong to is marked pending for the scheduled
rollup (lambdas/scheduled_rollup): one marker per (hour, shard of its devices),
``RU#PENDING#<n>``, a fresh token each time (``pending_marks`` in aggregates.py).

Ordering: every partial of a device shares the partition key ``D#<device>``, so their
stream records sit on one stream shard and are processed in order (parallelization
factor 1); two invocations never race to write the same total.

The device-minutes' partials are read ``READ_CONCURRENCY`` at a time (their reads are
independent; each is one Query). A device-minute whose read or write fails makes each of
its records a batch item failure; Lambda retries from the earliest, and the
recomputation is idempotent. The totals are computed for the whole batch first (one
write per total); Powertools' batch processor then reports the records of the
device-minutes that failed.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.rollup.config import get_config
from lambdas.rollup.logic import (
    DeviceMinute,
    MinuteOutcome,
    minute_outcome,
    touched_hours,
    touched_minute,
)
from lambdas.rollup.repository import RollupRepository, default_repository
from lambdas.shared.conflicts import conflict_item
from lambdas.shared.dynamo import BatchWriteError
from lambdas.shared.markers import pending_marks

logger = Logger()
metrics = Metrics()
tracer = Tracer()
# A batch whose every minute failed is reported record by record too: Lambda retries it
# from the earliest, as it does any partial failure.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams,
                           raise_on_entire_batch_failure=False)


class MinuteNotRolledUp(RuntimeError):
    """The totals of this record's device-minute could not be recomputed or written."""


def _record_minute(record: DynamoDBRecord) -> DeviceMinute | None:
    event_name = record.event_name.name if record.event_name is not None else None
    stream = record.dynamodb
    return touched_minute(event_name, stream.new_image if stream is not None else None)


class BatchRollup:
    """One batch's device-minutes: their totals recomputed and written, and which failed."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.minutes: dict[DeviceMinute, None] = {}
        for raw in records:
            try:
                minute = _record_minute(DynamoDBRecord(raw))
            except Exception:  # reported per record by check_record
                continue
            if minute is not None:
                self.minutes[minute] = None
        self.failed: dict[DeviceMinute, str] = {}
        self.written = 0
        self.duplicates = 0
        self.conflicts = 0
        self.hours: list[str] = []

    def _outcomes(self, repository: RollupRepository,
                  concurrency: int) -> list[MinuteOutcome]:
        """Each device-minute's totals, its partials read ``concurrency`` at a time."""
        def outcome(minute: DeviceMinute) -> MinuteOutcome | Exception:
            try:
                return minute_outcome(minute, list(repository.minute_partials(minute)))
            except Exception as exc:  # reported per minute below, in the batch's order
                return exc

        minutes = list(self.minutes)
        if concurrency > 1 and len(minutes) > 1:
            with ThreadPoolExecutor(min(concurrency, len(minutes)),
                                    thread_name_prefix="rollup-read") as pool:
                results = list(pool.map(outcome, minutes))
        else:
            results = [outcome(minute) for minute in minutes]
        outcomes = []
        for minute, result in zip(minutes, results, strict=True):
            if isinstance(result, Exception):
                logger.error("reading or merging a device-minute's partials failed",
                             exc_info=result,
                             extra={"device_id": minute.device_id, "bucket": minute.bucket})
                self.failed[minute] = str(result)
            else:
                outcomes.append(result)
        return outcomes

    def run(self, repository: RollupRepository) -> None:
        """Recompute the totals of every device-minute the batch touches; write them and
        quarantine conflict losers, then mark their hours pending."""
        config = get_config()
        outcomes = self._outcomes(repository, config.read_concurrency)
        totals = [total for outcome in outcomes for total in outcome.totals]
        stale = [key for outcome in outcomes for key in outcome.stale_total_keys]
        now = time.time()
        losers = [conflict_item(outcome.minute.device_id, loser, now_s=now,
                                retention_days=config.quarantine_retention_days)
                  for outcome in outcomes for loser in outcome.losers]
        for loser in losers:
            logger.warning("conflicting reading quarantined", extra={
                "device_id": loser["device_id"], "boot": loser["boot"], "seq": loser["seq"]})
        # A deleted total changes its hour's roll-ups as much as a written one.
        changed = [outcome.minute._asdict() for outcome in outcomes
                   if outcome.totals or outcome.stale_total_keys]
        hours = touched_hours(changed)
        try:
            report = repository.write_totals(totals, stale)
            repository.quarantine(losers)
            # Only now: a marker read by the scheduled rollup must never precede its totals,
            # or the roll-ups could be computed, and the marker deleted, without them.
            repository.mark_hours_pending(pending_marks(changed))
        except BatchWriteError as exc:
            # A total without its hour's marker would never reach the roll-ups, so a failed
            # marker write fails the records too; their retry rewrites the same totals.
            logger.error("writing minute totals, conflicts or pending-hour markers failed; "
                         "their records are retried",
                         extra={"unwritten": exc.unwritten, "error": str(exc)})
            self.failed.update({key: str(exc) for key in self.minutes if key not in self.failed})
            return
        self.written, self.hours = report.items, hours
        self.duplicates = sum(outcome.duplicates for outcome in outcomes)
        self.conflicts = len(losers)

    def check_record(self, record: DynamoDBRecord) -> None:
        """The processor's record handler: fail the records of the minutes that failed."""
        minute = _record_minute(record)
        if minute is not None and minute in self.failed:
            raise MinuteNotRolledUp(
                f"{minute.device_id}/{minute.bucket}: {self.failed[minute]}")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_config()  # fail fast, with a clear message, on a misconfigured function
    rollup = BatchRollup(event.get("Records") or [])
    rollup.run(default_repository())
    response = process_partial_response(event=event, record_handler=rollup.check_record,
                                        processor=processor, context=context)
    metrics.add_metric(name="MinuteTotalsWritten", unit=MetricUnit.Count, value=rollup.written)
    metrics.add_metric(name="MinuteTotalsFailed", unit=MetricUnit.Count,
                       value=len(rollup.failed))
    metrics.add_metric(name="HoursMarkedPending", unit=MetricUnit.Count,
                       value=len(rollup.hours))
    metrics.add_metric(name="ConflictsQuarantined", unit=MetricUnit.Count,
                       value=rollup.conflicts)
    logger.info("rollup invocation", extra={
        "records": len(event.get("Records") or []), "minutes": len(rollup.minutes),
        "totals_written": rollup.written, "hours_marked": rollup.hours,
        "duplicate_copies": rollup.duplicates, "conflicts_quarantined": rollup.conflicts,
        "minutes_failed": len(rollup.failed),
        "batch_item_failures": len(response["batchItemFailures"]),
    })
    return dict(response)
