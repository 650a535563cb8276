"""Where an asynchronous invocation's outcome goes: the invocation record and its destinations.

The record (AWS Lambda guide, asynchronous invocation destinations):
``version`` "1.0", ``timestamp``, ``requestContext`` {requestId, functionArn (qualified),
condition: Success | RetriesExhausted | EventAgeExceeded, approximateInvokeCount},
``requestPayload``, and — once the function ran — ``responseContext`` {statusCode,
executedVersion, functionError} and ``responsePayload``.

Destinations: SQS queue and SNS topic (the record is the message; when
``requestPayload`` and ``responsePayload`` together pass 256 KB, an SNS record goes
without them, as AWS drops them), S3 bucket on failure only (the record as a JSON object
under ``aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<UUID>``; see
``destinations``), Lambda function (the record is the payload of an asynchronous
invocation) and EventBridge bus (``PutEvents`` with source ``lambda`` and detail-type
``Lambda Function Invocation Result - Success|Failure``). A record that cannot be
delivered is logged and counted (``failures``); the event is done either way.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.destinations import async_object_key, iso_millis
from shardline.local.invoke_model import QueuedEvent
from shardline.local.scheduling import Clock
from shardline.local.versions import split_qualifier

log = logging.getLogger("shardline.engine")

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"


def invocation_record(event: QueuedEvent, condition: str, now: float) -> dict[str, Any]:
    """The record of ``event``'s outcome, as destinations receive it."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_millis(now),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": _qualified(event.function_arn),
            "condition": condition,
            "approximateInvokeCount": event.invocations,
        },
        "requestPayload": event.payload,
    }
    result = event.last_result
    if result is not None:
        response_context: dict[str, Any] = {"statusCode": 200,
                                            "executedVersion": result.executed_version}
        if result.function_error:
            response_context["functionError"] = result.function_error
        record["responseContext"] = response_context
        record["responsePayload"] = result.payload
    return record


@dataclass
class AsyncDestinations:
    """Delivers invocation records to on-success / on-failure destinations."""

    client: Callable[[str], Any]  # service name -> a (reused) client of the embedded AWS
    # Queues an asynchronous event (a Lambda destination): (function, payload, *, trigger).
    submit: Callable[..., str]
    # Delivers to an SQS queue, SNS topic or S3 bucket: (arn, document, *, object_key=None).
    send_to_destination: Callable[..., None] | None
    clock: Clock
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, destination: str, record: dict[str, Any], *, success: bool) -> None:
        service = destination.split(":")[2] if destination.count(":") >= 5 else ""
        function_arn = record["requestContext"]["functionArn"]
        try:
            if service == "lambda":
                self.submit(destination, record,
                            trigger=f"destination:{function_arn.rsplit(':', 1)[0]}")
            elif service == "events":
                self._put_event(destination, record, function_arn, success)
            elif service in ("sqs", "sns") and self.send_to_destination is not None:
                self.send_to_destination(destination, record)
            elif service == "s3" and not success and self.send_to_destination is not None:
                name = function_arn.split(":")[6]
                self.send_to_destination(destination, record, object_key=async_object_key(
                    name, self.clock.now()))
            else:
                raise ValueError(f"unsupported destination type: {destination}")
        except Exception:
            with self._lock:
                self.failures += 1
            log.exception("could not deliver an invocation record to %s", destination)

    def _put_event(self, bus: str, record: dict[str, Any], function_arn: str,
                   success: bool) -> None:
        outcome = "Success" if success else "Failure"
        response = self.client("events").put_events(Entries=[{
            "Source": "lambda",
            "DetailType": f"Lambda Function Invocation Result - {outcome}",
            "Detail": json.dumps(record),
            "Resources": [function_arn, bus],
            "EventBusName": bus,
        }])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents rejected the record: {response['Entries']}")


def _qualified(function_arn: str) -> str:
    """The invoked ARN with its qualifier: an alias or version as invoked, else $LATEST."""
    return function_arn if split_qualifier(function_arn)[1] else f"{function_arn}:$LATEST"
