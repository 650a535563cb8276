"""Archive worker: the dispatcher's records as gzipped JSON Lines in S3, by event hour.

Invoked asynchronously by the fanout dispatcher (``lambdas.shared.worker_payload``).
Handler string: ``lambdas.archive.handler.lambda_handler``.

Idempotent and order-insensitive by construction (``layout.py``): records within the range
of an object already in their (hour, shard) folder are not written again, and the rest go
to objects keyed by their shard and stream positions, with deterministic bytes. Records
that do not decode are
logged and skipped. A failed put fails the invocation, so Lambda retries the whole payload
(objects already written are rewritten identically), then sends it to the on-failure
destination.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.archive import repository
from lambdas.archive.config import get_config
from lambdas.archive.layout import archive_objects, object_folder, partitions
from lambdas.shared.worker_payload import WorkerPayload

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = get_config()  # fail fast, with a clear message, on a misconfigured function
    payload = WorkerPayload.from_event(event)
    logger.append_keys(shard_id=payload.shard_id)
    decoded, skipped = payload.decoded_logging_rejects(logger)
    store = repository.default_repository()
    archived = {partition: store.ranges(object_folder(config.prefix, partition,
                                                      payload.shard_id))
                for partition in partitions(decoded)}
    objects = archive_objects(payload.shard_id, decoded, prefix=config.prefix,
                              archived=archived)
    for obj in objects:
        store.put(obj)
    written = sum(obj.records for obj in objects)
    metrics.add_metric(name="RecordsArchived", unit=MetricUnit.Count, value=written)
    metrics.add_metric(name="RecordsAlreadyArchived", unit=MetricUnit.Count,
                       value=len(decoded) - written)
    metrics.add_metric(name="RecordsSkipped", unit=MetricUnit.Count, value=skipped)
    metrics.add_metric(name="ObjectsWritten", unit=MetricUnit.Count, value=len(objects))
    summary = {"records": len(payload.records), "archived": written,
               "already_archived": len(decoded) - written, "skipped": skipped,
               "objects": [obj.key for obj in objects]}
    logger.info("payload archived", extra=summary)
    return {"archived": written, "already": len(decoded) - written, "skipped": skipped,
            "objects": len(objects)}
