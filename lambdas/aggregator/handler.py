"""Aggregator Lambda: Kinesis tumbling windows → partial aggregates in DynamoDB.

Event source mapping: Kinesis, TumblingWindowInSeconds > 0, BisectBatchOnFunctionError and
FunctionResponseTypes=ReportBatchItemFailures. Handler string:
``lambdas.aggregator.handler.lambda_handler``.

Every invocation returns ``{"state": {...}, "batchItemFailures": [...]}``:

* invalid user records are quarantined (counted, logged with shard, sequence number and
  reason) and never reported as failures, so they cannot block the shard; when
  ``QUARANTINE_TABLE`` is set, each is also written there (``quarantine.py``) once per
  invocation, after the window flush, with a key derived from its shard, sequence and
  sub-sequence numbers (a re-delivered record rewrites the same item). Only records in
  the state returned are written; a failed quarantine write is logged and counted
  (``QuarantineWriteFailed``) but never fails the invocation, and it does not touch the
  window state, so the tumbling-window contract is unchanged;
* a record whose processing raises is reported by sequence number, and so is every later
  record of the batch (Lambda re-delivers from the lowest failure); none of them is in
  the returned state. When the failing record is the batch's *first*, nothing can be
  checkpointed, so the invocation fails instead (``BatchHeadFailed``): that is what makes
  Lambda bisect (a partial response is not split further), so retries isolate the poison
  record and only it reaches the on-failure destination, not the records queued behind it;
* when the window closes (``isFinalInvokeForWindow`` or ``isWindowTerminatedEarly``) the
  window's partial aggregates are written and the state returned is ``{}``; a failed write
  fails the invocation, so Lambda retries it with the previous state;
* an event carrying ``replay: {"segment": "replay-<sequence number>"}`` is a failed batch
  re-driven by ``shardline dlq replay`` as one final window invoke: its partials are
  written under that segment, so a second replay rewrites the same items.
"""

from __future__ import annotations

import os
import time
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.aggregator import repository
from lambdas.aggregator.config import DEFAULT_SERVICE_NAME, fault_device_ids, get_config
from lambdas.aggregator.logic import (
    STATE_LIMIT_BYTES,
    InvocationFold,
    Quarantined,
    RecordSkipped,
    WindowAggregate,
    WindowInvocation,
    state_size_bytes,
)
from lambdas.aggregator.quarantine import QuarantineContext, quarantine_item
from lambdas.shared.dynamo import BatchWriteError
from lambdas.shared.observability import invocation_metrics

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE_NAME)


class BatchHeadFailed(RuntimeError):
    """The batch's first record failed: a function error, so Lambda bisects the batch."""

# Warn well before Lambda terminates the window for an oversized state.
STATE_WARNING_BYTES = int(STATE_LIMIT_BYTES * 0.8)


def _fold_record(
    fold: InvocationFold,
    quarantined_records: list[tuple[Quarantined, float | None]],
    record: KinesisStreamRecord,
) -> None:
    kinesis = record.kinesis
    sequence_number = kinesis.sequence_number
    try:
        contribution = fold.apply(sequence_number, kinesis.data, kinesis.partition_key)
    except RecordSkipped:
        raise
    except Exception:
        logger.exception(
            "record failed; reported in batchItemFailures",
            extra={"sequence_number": sequence_number, "device_id": kinesis.partition_key},
        )
        raise
    if contribution is None:
        logger.debug("record already in window state", extra={"sequence_number": sequence_number})
        return
    arrival = kinesis.get("approximateArrivalTimestamp")
    for quarantined in contribution.quarantined:
        logger.warning("record quarantined", extra=quarantined.log_fields())
        quarantined_records.append((quarantined, arrival))


def _store_quarantined(
    invocation: WindowInvocation,
    quarantined_records: list[tuple[Quarantined, float | None]],
    metrics: EphemeralMetrics,
) -> dict[str, Any]:
    """Write the invocation's quarantined records; log (never raise) when that fails."""
    store = repository.default_quarantine_repository()
    if store is None or not quarantined_records:
        return {}
    context = QuarantineContext(
        shard_id=invocation.shard_id,
        event_source_arn=invocation.event_source_arn,
        now_s=time.time(),
        retention_days=get_config().quarantine_retention_days,
    )
    items = [quarantine_item(record, arrival, context) for record, arrival in quarantined_records]
    try:
        report = store.write_items(items)
    except Exception as exc:  # never block the shard for the quarantine store
        metrics.add_metric(name="QuarantineWriteFailed", unit=MetricUnit.Count, value=len(items))
        logger.error("quarantine write failed; records stay counted and logged only",
                     extra={"quarantine_items": len(items), "error": str(exc)})
        return {"quarantine_written": 0, "quarantine_write_failed": len(items)}
    metrics.add_metric(name="QuarantineItemsWritten", unit=MetricUnit.Count, value=len(items))
    return {"quarantine_written": len(items), "quarantine_write_calls": report.calls}


def aggregate_window(event: dict[str, Any], metrics: EphemeralMetrics) -> dict[str, Any]:
    """Fold the event's records into its window state; flush the window when it closes."""
    invocation = WindowInvocation.from_event(event)
    logger.thread_safe_append_keys(
        shard_id=invocation.shard_id, window_start=invocation.window_start_s
    )
    aggregate = WindowAggregate.from_state(invocation.state)
    fold = InvocationFold(aggregate, fault_device_ids(os.environ))
    quarantined_records: list[tuple[Quarantined, float | None]] = []

    # One processor per invocation: it holds the batch's outcome and must not be shared
    # between invocations running side by side in one process (the local runtime).
    processor = BatchProcessor(
        event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False
    )
    fold_record = partial(_fold_record, fold, quarantined_records)
    with processor(records=event.get("Records") or [], handler=fold_record):
        processor.process()
    failures = processor.response()["batchItemFailures"]
    records = event.get("Records") or []
    head = records[0]["kinesis"]["sequenceNumber"] if records else None
    if head is not None and head in {failure["itemIdentifier"] for failure in failures}:
        logger.error("the batch's first record failed; failing the invocation so Lambda "
                     "bisects the batch", extra={"sequence_number": head,
                                                 "records": len(records)})
        raise BatchHeadFailed(f"record {head} failed at the head of a batch of {len(records)}")

    summary: dict[str, Any] = {
        "records": fold.tally.records,
        "user_records": fold.tally.user_records,
        "aggregated": fold.tally.aggregated,
        "quarantined": fold.tally.quarantined,
        "duplicates": fold.tally.duplicates,
        "failed": fold.tally.failed,
        "skipped_after_failure": fold.tally.skipped,
        "cells": aggregate.cell_count,
        "window_aggregated": aggregate.aggregated,
        "window_quarantined": aggregate.quarantined,
        "final": invocation.is_final,
        "terminated_early": invocation.terminated_early,
    }
    if invocation.closes_window:
        segment = fold.flush_segment(invocation)
        items = aggregate.partial_items(
            invocation.shard_id, invocation.window_start_s, segment=segment
        )
        try:
            report = repository.write_partials(items)
        except BatchWriteError as exc:
            logger.error("window flush failed; invocation fails and is retried",
                         extra={**summary, "unwritten": exc.unwritten, "error": str(exc)})
            raise
        metrics.add_metric(name="PartialsWritten", unit=MetricUnit.Count, value=len(items))
        summary.update(partials=len(items), segment=segment, write_calls=report.calls,
                       write_retries=report.retries)
        state: dict[str, Any] = {}
    else:
        state = aggregate.to_state()
        size = state_size_bytes(state)
        summary["state_bytes"] = size
        metrics.add_metric(name="WindowStateBytes", unit=MetricUnit.Bytes, value=size)
        if size > STATE_WARNING_BYTES:
            logger.warning("window state nears the 1 MB cap", extra={"state_bytes": size})
    # After the flush: a flush that fails is retried with the previous state, and the
    # re-delivered records are quarantined then.
    summary.update(_store_quarantined(invocation, quarantined_records, metrics))

    metrics.add_metric(name="RecordsAggregated", unit=MetricUnit.Count,
                       value=fold.tally.aggregated)
    metrics.add_metric(name="RecordsQuarantined", unit=MetricUnit.Count,
                       value=fold.tally.quarantined)
    # Failures are Kinesis records (what batchItemFailures and the failure destination name);
    # the two counts above are user records.
    metrics.add_metric(name="KinesisRecordsFailed", unit=MetricUnit.Count,
                       value=fold.tally.failed + fold.tally.skipped)
    logger.info("window invocation", extra={**summary, "batch_item_failures": len(failures)})
    return {"state": state, "batchItemFailures": failures}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = get_config()  # fail fast, with a clear message, on a misconfigured function
    # Log keys are per invocation too: invocations may run side by side in one process.
    try:
        with invocation_metrics(config.service_name) as metrics:
            return aggregate_window(event, metrics)
    finally:
        logger.thread_safe_clear_keys()
