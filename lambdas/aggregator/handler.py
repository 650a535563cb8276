"""Aggregator Lambda: Kinesis tumbling windows → partial aggregates in DynamoDB.

Event source mapping: Kinesis, TumblingWindowInSeconds > 0, BisectBatchOnFunctionError and
FunctionResponseTypes=ReportBatchItemFailures. Handler string:
``lambdas.aggregator.handler.lambda_handler``.

Every invocation returns ``{"state": {...}, "batchItemFailures": [...]}``:

* invalid user records are quarantined (counted, logged with shard, sequence number and
  reason) and never reported as failures, so they cannot block the shard;
* a record whose processing raises is reported by sequence number, and so is every later
  record of the batch (Lambda re-delivers from the lowest failure); none of them is in
  the returned state;
* when the window closes (``isFinalInvokeForWindow`` or ``isWindowTerminatedEarly``) the
  window's partial aggregates are written and the state returned is ``{}``; a failed write
  fails the invocation, so Lambda retries it with the previous state.
"""

from __future__ import annotations

import os
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
from lambdas.aggregator.config import DEFAULT_SERVICE_NAME, get_config
from lambdas.aggregator.logic import (
    STATE_LIMIT_BYTES,
    InvocationFold,
    RecordSkipped,
    WindowAggregate,
    WindowInvocation,
    state_size_bytes,
)
from lambdas.shared.dynamo import BatchWriteError

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE_NAME)
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "shardline"

# Warn well before Lambda terminates the window for an oversized state.
STATE_WARNING_BYTES = int(STATE_LIMIT_BYTES * 0.8)


def _fold_record(fold: InvocationFold, record: KinesisStreamRecord) -> None:
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
    for quarantined in contribution.quarantined:
        logger.warning("record quarantined", extra=quarantined.log_fields())


def aggregate_window(event: dict[str, Any], metrics: EphemeralMetrics) -> dict[str, Any]:
    """Fold the event's records into its window state; flush the window when it closes."""
    invocation = WindowInvocation.from_event(event)
    logger.thread_safe_append_keys(
        shard_id=invocation.shard_id, window_start=invocation.window_start_s
    )
    aggregate = WindowAggregate.from_state(invocation.state)
    fold = InvocationFold(aggregate)

    # One processor per invocation: it holds the batch's outcome and must not be shared
    # between invocations running side by side in one process (the local runtime).
    processor = BatchProcessor(
        event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False
    )
    with processor(records=event.get("Records") or [], handler=partial(_fold_record, fold)):
        processor.process()
    failures = processor.response()["batchItemFailures"]

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
    # Per-invocation metrics and log keys: Powertools' ``Metrics`` shares one metric set per
    # process, which invocations run side by side in one process (the local runtime) would
    # mix up; ``EphemeralMetrics`` keeps its own.
    metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=config.service_name)
    try:
        return aggregate_window(event, metrics)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
        logger.thread_safe_clear_keys()
