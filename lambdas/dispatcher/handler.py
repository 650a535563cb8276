"""Dispatcher Lambda (fanout): Kinesis (EFO consumer) → async Invokes of worker Lambdas.

Handler string ``lambdas.dispatcher.handler.lambda_handler``. Event source mapping: the
telemetry stream's enhanced fan-out consumer, with BisectBatchOnFunctionError,
FunctionResponseTypes=ReportBatchItemFailures, retries, a maximum record age and an
on-failure destination.

Per invocation:

1. the batch processor reads each Kinesis record (``plan.py``): KPL user records are split
   out and validated; invalid ones are quarantined (``QUARANTINE_TABLE``, same keys as the
   aggregator's), valid ones routed by the routing table (``ROUTES``/``WORKERS``);
2. each worker's records are packed into payloads of at most ``MAX_PAYLOAD_BYTES``
   (``packing.py`` gives the shape) and sent with async ``Invoke`` (``InvocationType=Event``),
   in parallel;
3. ``batchItemFailures`` names exactly the Kinesis records whose hand-off failed: a record
   is handed off only when every Invoke carrying one of its user records, to any worker,
   was accepted (202). Lambda retries from the lowest failed record.

A partial hand-off (one worker's Invoke accepted, another's throttled) makes the record
go to *every* worker of it again on retry. That is harmless by design: async invoke is
at-least-once anyway, so every worker is idempotent and order-insensitive (device-state
writes are conditional on event time and seq), and a second copy changes nothing.

Quarantine writes never fail the invocation (logged and counted, as in the aggregator).
One summary log line per invocation; metrics RecordsDispatched (user records handed off),
HandOffsFailed (Invokes that failed), RecordsQuarantined, UnknownFieldsIgnored.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.dispatcher import repository
from lambdas.dispatcher.config import get_config
from lambdas.dispatcher.packing import Payload, envelope_bytes, failed_sequence_numbers, pack
from lambdas.dispatcher.plan import HandOffPlan
from lambdas.shared.quarantine import QuarantineContext, quarantine_item

logger = Logger()
metrics = Metrics()
tracer = Tracer()
# Every record failing is reported, not raised: hand-off failures are throttles and
# errors of other functions, which bisecting the batch would not isolate.
processor = BatchProcessor(event_type=EventType.KinesisDataStreams,
                           raise_on_entire_batch_failure=False)


def shard_of(event: dict[str, Any]) -> tuple[str, str | None]:
    """(shard id, event source ARN) of a Kinesis event; eventID is "<shard>:<sequence>"."""
    records = event.get("Records") or [{}]
    first = records[0]
    return str(first.get("eventID", "")).split(":", 1)[0], first.get("eventSourceARN")


class Dispatch:
    """One invocation: the plan the processor fills, then the hand-off."""

    def __init__(self, shard_id: str, event_source_arn: str | None) -> None:
        self.shard_id, self.event_source_arn = shard_id, event_source_arn
        config = get_config()
        self.plan = HandOffPlan(config.routes, envelope_bytes(shard_id, event_source_arn),
                                config.max_payload_bytes)
        self.payloads: list[Payload] = []
        self.failed_invokes = 0

    def read_record(self, record: KinesisStreamRecord) -> None:
        """The processor's record handler: route one Kinesis record, or raise to fail it."""
        kinesis = record.kinesis
        self.plan.add(kinesis.sequence_number, kinesis.data, kinesis.partition_key,
                      kinesis.get("approximateArrivalTimestamp"))

    def hand_off(self) -> set[str]:
        """Send every worker its payloads; the Kinesis records of failed Invokes."""
        config = get_config()
        for worker, entries in self.plan.entries.items():
            self.payloads += pack(worker, entries, shard_id=self.shard_id,
                                  event_source_arn=self.event_source_arn,
                                  max_bytes=config.max_payload_bytes)
        outcomes = repository.default_invoker().invoke_all(
            [(config.workers[p.worker], p.body) for p in self.payloads])
        for payload, outcome in zip(self.payloads, outcomes, strict=True):
            if not outcome.ok:
                self.failed_invokes += 1
                logger.error("hand-off failed; its records are reported for retry", extra={
                    "worker": payload.worker, "records": payload.records,
                    "status": outcome.status, "error": outcome.error})
        return failed_sequence_numbers(self.payloads, [not o.ok for o in outcomes])

    def store_quarantined(self) -> dict[str, Any]:
        writer = repository.default_quarantine_writer()
        for record, _ in self.plan.quarantined:
            logger.warning("record quarantined", extra=record.log_fields())
        if writer is None or not self.plan.quarantined:
            return {}
        context = QuarantineContext(self.shard_id, self.event_source_arn, time.time(),
                                    get_config().quarantine_retention_days)
        items = [quarantine_item(r, arrival, context) for r, arrival in self.plan.quarantined]
        try:
            writer.write_items(items)
        except Exception as exc:  # never block the shard for the quarantine store
            metrics.add_metric(name="QuarantineWriteFailed", unit=MetricUnit.Count,
                               value=len(items))
            logger.error("quarantine write failed; records stay counted and logged only",
                         extra={"quarantine_items": len(items), "error": str(exc)})
            return {"quarantine_write_failed": len(items)}
        return {"quarantine_written": len(items)}


def merge_failures(event: dict[str, Any], reported: list[dict[str, str]],
                   handed_off_failed: set[str]) -> list[dict[str, str]]:
    """The processor's failures plus the failed hand-offs, in stream order, each once."""
    failed = {f["itemIdentifier"] for f in reported} | handed_off_failed
    return [{"itemIdentifier": r["kinesis"]["sequenceNumber"]}
            for r in event.get("Records") or [] if r["kinesis"]["sequenceNumber"] in failed]


def publish(dispatch: Dispatch, failed: set[str]) -> dict[str, Any]:
    plan = dispatch.plan
    dispatched = sum(n for seq, n in plan.routed.items() if seq not in failed)
    counts = {"RecordsDispatched": dispatched, "HandOffsFailed": dispatch.failed_invokes,
              "RecordsQuarantined": len(plan.quarantined),
              "UnknownFieldsIgnored": plan.unknown_fields}
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return {"user_records": plan.user_records, "dispatched": dispatched,
            "quarantined": len(plan.quarantined), "unrouted": plan.unrouted,
            "unknown_fields": plan.unknown_fields, "payloads": len(dispatch.payloads),
            "invokes_failed": dispatch.failed_invokes,
            "per_worker": {w: len(e) for w, e in plan.entries.items()}}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_config()  # fail fast, with a one-line message, on a misconfigured function
    dispatch = Dispatch(*shard_of(event))
    logger.append_keys(shard_id=dispatch.shard_id)
    with processor(records=event.get("Records") or [], handler=dispatch.read_record,
                   lambda_context=context):
        processor.process()
    reported = processor.response()["batchItemFailures"]
    handed_off_failed = dispatch.hand_off()
    failures = merge_failures(event, reported, handed_off_failed)
    summary = publish(dispatch, {f["itemIdentifier"] for f in failures})
    summary.update(dispatch.store_quarantined())
    logger.info("dispatch", extra={**summary, "records": len(event.get("Records") or []),
                                   "batch_item_failures": len(failures)})
    return {"batchItemFailures": failures}
