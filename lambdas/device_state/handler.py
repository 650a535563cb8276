"""device-state worker: latest reading per metric and last-seen time per device.

Handler string ``lambdas.device_state.handler.lambda_handler``. Invoked asynchronously by
the dispatcher with its payload (``lambdas/dispatcher/packing.py``). Idempotent and
order-insensitive (state.py): async invoke is at-least-once and the fanout gives up
per-shard order. A payload that is not the dispatcher's shape fails the invocation, so
Lambda's async retries and then the on-failure queue keep it; a record in it that is not
valid telemetry (the dispatcher validated it already) is logged and skipped.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.device_state import repository
from lambdas.device_state.config import get_config
from lambdas.device_state.state import fold, writes
from lambdas.shared import telemetry

logger = Logger()
metrics = Metrics()
tracer = Tracer()

SOURCE = "shardline.dispatcher"


class InvalidPayload(ValueError):
    """The event is not a dispatcher payload."""


def readings_of(event: Any) -> tuple[list[tuple[telemetry.Telemetry, float | None]], int]:
    """The valid readings of a payload and how many records were skipped as invalid."""
    if not isinstance(event, dict) or event.get("source") != SOURCE \
            or not isinstance(event.get("records"), list):
        raise InvalidPayload(f"not a {SOURCE} payload")
    readings, skipped = [], 0
    for record in event["records"]:
        try:
            data = base64.b64decode(record["data"], validate=True)
            readings.append((telemetry.decode(data), record.get("approximateArrivalTimestamp")))
        except (KeyError, TypeError, binascii.Error, telemetry.InvalidTelemetry) as exc:
            skipped += 1
            logger.warning("invalid record skipped", extra={
                "error": str(exc), "sequence_number": (record or {}).get("sequenceNumber")
                if isinstance(record, dict) else None})
    return readings, skipped


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = get_config()
    readings, skipped = readings_of(event)
    planned = writes(fold(readings))
    report = repository.default_repository().apply_all(planned, config.write_concurrency)
    metrics.add_metric(name="ReadingsApplied", unit=MetricUnit.Count, value=len(readings))
    metrics.add_metric(name="StateWritesSkippedOlder", unit=MetricUnit.Count,
                       value=report.skipped_older)
    summary = {"shard_id": event.get("shardId"), "records": len(event["records"]),
               "readings": len(readings), "invalid": skipped, "writes": len(planned),
               "applied": report.applied, "skipped_older": report.skipped_older}
    logger.info("device state", extra=summary)
    return summary
