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
  window's partials are written and the state returned is ``{}``; so are, at once, the
  pieces of a window sealed because its state grew past ``WINDOW_SEAL_BYTES``
  (``window_state.py``). A failed write fails the invocation, so Lambda retries it with
  the previous state, and the same records make the same pieces;
* an event carrying ``replay: {"segment": "replay-<sequence number>"}`` is a failed batch
  re-driven by ``shardline dlq replay`` as one final window invoke: its partials are
  written under that segment, so a second replay rewrites the same items.

Logger, Metrics, Tracer and the batch processor live at module level, as Powertools
intends: an execution environment runs one invocation at a time. The per-invocation
window (``WindowBatch``) is what the processor's record handler folds into.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.aggregator import repository
from lambdas.aggregator.config import get_config
from lambdas.aggregator.envelope import WindowInvocation
from lambdas.aggregator.fold import InvocationFold, RecordSkipped
from lambdas.aggregator.window_state import STATE_LIMIT_BYTES, WindowAggregate, state_size_bytes
from lambdas.shared.dynamo import BatchWriteError
from lambdas.shared.quarantine import QuarantineContext, Quarantined, quarantine_item

logger = Logger()
metrics = Metrics()
tracer = Tracer()
# The whole-batch rule is the head rule below (BatchHeadFailed), not Powertools' own.
processor = BatchProcessor(event_type=EventType.KinesisDataStreams,
                           raise_on_entire_batch_failure=False)

# Warn well before Lambda terminates the window for an oversized state.
STATE_WARNING_BYTES = int(STATE_LIMIT_BYTES * 0.8)


class BatchHeadFailed(RuntimeError):
    """The batch's first record failed: a function error, so Lambda bisects the batch."""


class WindowBatch:
    """One invocation's window: the carried state, the fold, the records to quarantine."""

    def __init__(self, invocation: WindowInvocation) -> None:
        self.invocation = invocation
        self.aggregate = WindowAggregate.from_state(invocation.state,
                                                    get_config().seal_bytes)
        self.fold = InvocationFold(self.aggregate)
        self.quarantined: list[tuple[Quarantined, float | None]] = []
        self.unknown_fields = 0  # ignored unknown top-level fields (forward compatibility)

    def fold_record(self, record: KinesisStreamRecord) -> None:
        """The processor's record handler: fold one Kinesis record, or raise to fail it."""
        kinesis = record.kinesis
        sequence_number = kinesis.sequence_number
        try:
            contribution = self.fold.apply(sequence_number, kinesis.data, kinesis.partition_key)
        except RecordSkipped:
            raise
        except Exception:
            logger.exception("record failed; reported in batchItemFailures", extra={
                "sequence_number": sequence_number, "device_id": kinesis.partition_key})
            raise
        if contribution is None:
            logger.debug("record already in window state",
                         extra={"sequence_number": sequence_number})
            return
        self.unknown_fields += contribution.unknown_fields
        arrival = kinesis.get("approximateArrivalTimestamp")
        for quarantined in contribution.quarantined:
            logger.warning("record quarantined", extra=quarantined.log_fields())
            self.quarantined.append((quarantined, arrival))

    def summary(self) -> dict[str, Any]:
        tally, invocation = self.fold.tally, self.invocation
        return {
            "records": tally.records, "user_records": tally.user_records,
            "aggregated": tally.aggregated, "quarantined": tally.quarantined,
            "duplicates": tally.duplicates, "failed": tally.failed,
            "skipped_after_failure": tally.skipped, "cells": self.aggregate.cell_count,
            "window_aggregated": self.aggregate.aggregated,
            "window_quarantined": self.aggregate.quarantined,
            "final": invocation.is_final, "terminated_early": invocation.terminated_early,
        }


def fail_if_head_failed(event: dict[str, Any], response: PartialItemFailureResponse) -> None:
    """Raise ``BatchHeadFailed`` when the batch's first record is among the failures."""
    records = event.get("Records") or []
    if not records:
        return
    head = records[0]["kinesis"]["sequenceNumber"]
    if head in {failure["itemIdentifier"] for failure in response["batchItemFailures"]}:
        logger.error("the batch's first record failed; failing the invocation so Lambda "
                     "bisects the batch", extra={"sequence_number": head,
                                                 "records": len(records)})
        # Flushed with the invocation's other metrics even though it fails (log_metrics).
        metrics.add_metric(name="BatchHeadFailed", unit=MetricUnit.Count, value=1)
        raise BatchHeadFailed(f"record {head} failed at the head of a batch of {len(records)}")


def close_or_carry(batch: WindowBatch, summary: dict[str, Any]) -> dict[str, Any]:
    """Write the pieces sealed by this invocation and, when the window closes, its last
    piece (state ``{}``); else return the state of the piece in progress."""
    invocation, aggregate = batch.invocation, batch.aggregate
    items = aggregate.sealed_items(invocation.shard_id, invocation.window_start_s,
                                   invocation.replay_segment)
    segment = None
    if invocation.closes_window:
        segment = batch.fold.flush_segment(invocation)
        items += aggregate.partial_items(invocation.shard_id, invocation.window_start_s,
                                         segment=segment)
    if items:
        try:
            report = repository.write_partials(items)
        except BatchWriteError as exc:
            logger.error("window flush failed; invocation fails and is retried",
                         extra={**summary, "unwritten": exc.unwritten, "error": str(exc)})
            raise
        metrics.add_metric(name="PartialsWritten", unit=MetricUnit.Count, value=len(items))
        summary.update(partials=len(items), segment=segment, write_calls=report.calls,
                       write_retries=report.retries,
                       pieces_sealed=len(aggregate.sealed_pieces))
    if invocation.closes_window:
        return {}
    state = aggregate.to_state()
    size = state_size_bytes(state)
    summary["state_bytes"] = size
    metrics.add_metric(name="WindowStateBytes", unit=MetricUnit.Bytes, value=size)
    if size > STATE_WARNING_BYTES:
        logger.warning("window state nears the 1 MB cap", extra={"state_bytes": size})
    return state


def store_quarantined(batch: WindowBatch) -> dict[str, Any]:
    """Write the invocation's quarantined records; log (never raise) when that fails."""
    store = repository.default_quarantine_repository()
    if store is None or not batch.quarantined:
        return {}
    context = QuarantineContext(
        shard_id=batch.invocation.shard_id,
        event_source_arn=batch.invocation.event_source_arn,
        now_s=time.time(),
        retention_days=get_config().quarantine_retention_days,
    )
    items = [quarantine_item(record, arrival, context) for record, arrival in batch.quarantined]
    try:
        report = store.write_items(items)
    except Exception as exc:  # never block the shard for the quarantine store
        metrics.add_metric(name="QuarantineWriteFailed", unit=MetricUnit.Count, value=len(items))
        logger.error("quarantine write failed; records stay counted and logged only",
                     extra={"quarantine_items": len(items), "error": str(exc)})
        return {"quarantine_written": 0, "quarantine_write_failed": len(items)}
    metrics.add_metric(name="QuarantineItemsWritten", unit=MetricUnit.Count, value=len(items))
    return {"quarantine_written": len(items), "quarantine_write_calls": report.calls}


def publish_counts(batch: WindowBatch) -> None:
    tally = batch.fold.tally
    metrics.add_metric(name="RecordsAggregated", unit=MetricUnit.Count, value=tally.aggregated)
    metrics.add_metric(name="RecordsQuarantined", unit=MetricUnit.Count,
                       value=tally.quarantined)
    metrics.add_metric(name="UnknownFieldsIgnored", unit=MetricUnit.Count,
                       value=batch.unknown_fields)
    # Failures are Kinesis records (what batchItemFailures and the failure destination name);
    # the two counts above are user records.
    metrics.add_metric(name="KinesisRecordsFailed", unit=MetricUnit.Count,
                       value=tally.failed + tally.skipped)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)  # the state may approach 1 MB
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_config()  # fail fast, with a clear message, on a misconfigured function
    batch = WindowBatch(WindowInvocation.from_event(event))
    logger.append_keys(shard_id=batch.invocation.shard_id,
                       window_start=batch.invocation.window_start_s)
    # The processor as a context manager, not process_partial_response: a window's final
    # invoke may carry no records, which that helper refuses.
    with processor(records=event.get("Records") or [], handler=batch.fold_record,
                   lambda_context=context):
        processor.process()
    response = processor.response()
    fail_if_head_failed(event, response)
    summary = batch.summary()
    state = close_or_carry(batch, summary)
    # After the flush: a flush that fails is retried with the previous state, and the
    # re-delivered records are quarantined then.
    summary.update(store_quarantined(batch))
    publish_counts(batch)
    logger.info("window invocation",
                extra={**summary, "batch_item_failures": len(response["batchItemFailures"])})
    return {"state": state, "batchItemFailures": response["batchItemFailures"]}
