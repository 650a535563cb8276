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
retries from the earliest, and the recomputation is idempotent.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.rollup.config import DEFAULT_SERVICE_NAME, get_config
from lambdas.rollup.logic import minute_total, touched_hours, touched_minute
from lambdas.rollup.repository import RollupRepository, default_repository
from lambdas.shared.aggregates import BucketKey
from lambdas.shared.dynamo import BatchWriteError
from lambdas.shared.observability import invocation_metrics

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE_NAME)


class MinuteNotRolledUp(RuntimeError):
    """The total of this record's minute could not be recomputed or written."""


def _record_minute(record: DynamoDBRecord) -> BucketKey | None:
    event_name = record.event_name.name if record.event_name is not None else None
    stream = record.dynamodb
    return touched_minute(event_name, stream.new_image if stream is not None else None)


def roll_up(records: list[dict[str, Any]], repository: RollupRepository,
            metrics: EphemeralMetrics) -> dict[str, Any]:
    """Recompute and write the totals of every minute the batch touches."""
    minutes: dict[BucketKey, None] = {}
    for raw in records:
        try:
            key = _record_minute(DynamoDBRecord(raw))
        except Exception:  # reported per record by the processor below
            continue
        if key is not None:
            minutes[key] = None

    failed: dict[BucketKey, str] = {}
    totals: list[dict[str, Any]] = []
    for key in minutes:
        try:
            total = minute_total(key, repository.minute_partials(key))
        except Exception as exc:
            logger.exception("reading a minute's partials failed",
                             extra={"device_id": key.device_id, "metric": key.metric,
                                    "bucket": key.bucket})
            failed[key] = str(exc)
            continue
        if total is not None:
            totals.append(total)
    hours = touched_hours(totals)
    try:
        report = repository.write_totals(totals)
        written = report.items
        # Only now: a marker read by the scheduled rollup must never precede its totals,
        # or the roll-ups could be computed, and the marker deleted, without them.
        repository.mark_hours_pending(hours)
    except BatchWriteError as exc:
        # A total without its hour's marker would never reach the roll-ups, so a failed
        # marker write fails the records too; their retry rewrites the same totals.
        logger.error("writing minute totals or pending-hour markers failed; their records "
                     "are retried", extra={"unwritten": exc.unwritten, "error": str(exc)})
        failed.update({key: str(exc) for key in minutes if key not in failed})
        written = 0
        hours = []

    def check_record(record: DynamoDBRecord) -> None:
        key = _record_minute(record)
        if key is not None and key in failed:
            raise MinuteNotRolledUp(f"{key.device_id}/{key.metric}/{key.bucket}: {failed[key]}")

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams,
                               raise_on_entire_batch_failure=False)
    with processor(records=records, handler=check_record):
        processor.process()
    response = processor.response()

    metrics.add_metric(name="MinuteTotalsWritten", unit=MetricUnit.Count, value=written)
    metrics.add_metric(name="MinuteTotalsFailed", unit=MetricUnit.Count, value=len(failed))
    metrics.add_metric(name="HoursMarkedPending", unit=MetricUnit.Count, value=len(hours))
    logger.info("rollup invocation", extra={
        "records": len(records), "minutes": len(minutes), "totals_written": written,
        "hours_marked": hours,
        "minutes_failed": len(failed),
        "batch_item_failures": len(response["batchItemFailures"]),
    })
    return response


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = get_config()  # fail fast, with a clear message, on a misconfigured function
    with invocation_metrics(config.service_name) as metrics:
        return roll_up(event.get("Records") or [], default_repository(), metrics)
