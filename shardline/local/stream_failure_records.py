"""The on-failure record of stream records a mapping skips (retries exhausted, or too
old), built from the batch's last invocation and sent to the mapping's destination
(``destinations``: the record's shape and where each kind of destination puts it)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from shardline.local.destinations import (
    batch_info,
    mapping_object_key,
    service_of,
    stream_failure_record,
    with_payload,
)
from shardline.local.mappings import StreamMapping
from shardline.local.stream_lanes import Attempt
from shardline.local.stream_records import ShardReader, StreamRecord

log = logging.getLogger("shardline.engine")


def failure_document(mapping: StreamMapping, reader: ShardReader, shard_id: str,
                     records: list[StreamRecord], condition: str, attempt: Attempt,
                     now: float) -> dict[str, Any]:
    """The on-failure record of ``records``. Records never invoked get a ``requestId``
    of their own and no ``responseContext``."""
    result = attempt.last_result
    return stream_failure_record(
        request_id=result.request_id if result else str(uuid.uuid4()),
        function_arn=mapping.function_arn, condition=condition,
        invoke_count=attempt.invocations,
        function_error=result.function_error if result else None,
        invoked=result is not None, now=now, batch_info_key=reader.batch_info_key,
        info=batch_info(reader.batch_info_key, shard_id=shard_id,
                        stream_arn=reader.stream_arn,
                        first=(records[0].sequence_number, records[0].arrival),
                        last=(records[-1].sequence_number, records[-1].arrival),
                        size=len(records)),
        executed_version=result.executed_version if result else "$LATEST")


def send_failure_document(send: Callable[..., None], destination: str,
                          document: dict[str, Any], event: Callable[[], dict[str, Any]], *,
                          mapping_uuid: str, shard_id: str, now: float) -> None:
    """Send the record; an S3 bucket also gets ``event()``, the skipped records as the
    function receives them. The records are skipped whether or not the record arrives,
    as Lambda does."""
    try:
        if service_of(destination) == "s3":
            send(destination, with_payload(document, event()),
                 object_key=mapping_object_key(mapping_uuid, shard_id, now))
        else:
            send(destination, document)
    except Exception:
        log.exception("could not deliver an on-failure record to %s", destination)
