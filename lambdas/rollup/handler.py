"""Rollup Lambda: the aggregates table's stream → per-minute totals in the same table.

Event source mapping: the aggregates table's DynamoDB stream, BisectBatchOnFunctionError
and FunctionResponseTypes=ReportBatchItemFailures. Handler string:
``lambdas.rollup.handler.lambda_handler``.

For every partial inserted or modified in the batch, the total of its (device, metric,
minute) is recomputed from *all* of that minute's partials and written whole, once per
minute however many of its partials the batch holds. Recomputing (never incrementing)
makes a re-delivered record harmless. Items that are not partials (the totals written
here, the pending-hour markers and the scheduled rollup's roll-ups included) are ignored,
so writes of the platform's own do not trigger more work.

Once the totals are written, each hour they belong to is marked pending (``RU#PENDING``,
a fresh token each time) for the scheduled rollup (lambdas/scheduled_rollup).

Ordering: every partial of a minute shares the partition key ``DM#<device>#<metric>``, so
their stream records sit on one stream shard and are processed in order (parallelization
factor 1); two invocations never race to write the same total.

A minute whose read or write fails makes each of its records a batch item failure; Lambda
retries from the earliest, and the recomputation is idempotent. The totals are computed for
the whole batch first (one write per minute); Powertools' batch processor then reports the
records of the minutes that failed.
"""

from __future__ import annotations

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
from lambdas.rollup.logic import minute_total, touched_hours, touched_minute
from lambdas.rollup.repository import RollupRepository, default_repository
from lambdas.shared.aggregates import BucketKey, pending_marks
from lambdas.shared.dynamo import BatchWriteError

logger = Logger()
metrics = Metrics()
tracer = Tracer()
# A batch whose every minute failed is reported record by record too: Lambda retries it
# from the earliest, as it does any partial failure.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams,
                           raise_on_entire_batch_failure=False)


class MinuteNotRolledUp(RuntimeError):
    """The total of this record's minute could not be recomputed or written."""


def _record_minute(record: DynamoDBRecord) -> BucketKey | None:
    event_name = record.event_name.name if record.event_name is not None else None
    stream = record.dynamodb
    return touched_minute(event_name, stream.new_image if stream is not None else None)


class BatchRollup:
    """One batch's minutes: their totals recomputed and written, and which of them failed."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.minutes: dict[BucketKey, None] = {}
        for raw in records:
            try:
                key = _record_minute(DynamoDBRecord(raw))
            except Exception:  # reported per record by check_record
                continue
            if key is not None:
                self.minutes[key] = None
        self.failed: dict[BucketKey, str] = {}
        self.written = 0
        self.hours: list[str] = []

    def run(self, repository: RollupRepository) -> None:
        """Recompute the totals of every minute the batch touches; write them, then mark
        their hours pending."""
        totals: list[dict[str, Any]] = []
        for key in self.minutes:
            try:
                total = minute_total(key, repository.minute_partials(key))
            except Exception as exc:
                logger.exception("reading a minute's partials failed",
                                 extra={"device_id": key.device_id, "metric": key.metric,
                                        "bucket": key.bucket})
                self.failed[key] = str(exc)
                continue
            if total is not None:
                totals.append(total)
        hours = touched_hours(totals)
        try:
            report = repository.write_totals(totals)
            # Only now: a marker read by the scheduled rollup must never precede its totals,
            # or the roll-ups could be computed, and the marker deleted, without them.
            repository.mark_hours_pending(pending_marks(totals))
        except BatchWriteError as exc:
            # A total without its hour's marker would never reach the roll-ups, so a failed
            # marker write fails the records too; their retry rewrites the same totals.
            logger.error("writing minute totals or pending-hour markers failed; their "
                         "records are retried",
                         extra={"unwritten": exc.unwritten, "error": str(exc)})
            self.failed.update({key: str(exc) for key in self.minutes if key not in self.failed})
            return
        self.written, self.hours = report.items, hours

    def check_record(self, record: DynamoDBRecord) -> None:
        """The processor's record handler: fail the records of the minutes that failed."""
        key = _record_minute(record)
        if key is not None and key in self.failed:
            raise MinuteNotRolledUp(
                f"{key.device_id}/{key.metric}/{key.bucket}: {self.failed[key]}")


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
    logger.info("rollup invocation", extra={
        "records": len(event.get("Records") or []), "minutes": len(rollup.minutes),
        "totals_written": rollup.written, "hours_marked": rollup.hours,
        "minutes_failed": len(rollup.failed),
        "batch_item_failures": len(response["batchItemFailures"]),
    })
    return dict(response)
