"""The fanout workers' failure queues: list the events a worker gave up on, replay them.

The dispatcher invokes each worker asynchronously; when Lambda gives up on an event (its
retries or maximum event age ran out) it sends an *invocation record* to the worker's
on-failure destination (AWS-SEMANTICS.md, "Capturing records of Lambda asynchronous
invocations")::

    {"version": "1.0", "timestamp": "…",
     "requestContext": {"requestId", "functionArn", "condition", "approximateInvokeCount"},
     "requestPayload": <the event the worker got>,
     "responseContext": {"statusCode", "executedVersion", "functionError"?},
     "responsePayload": <what the last attempt returned, e.g. errorMessage>}

Unlike a stream failure, the record carries the event itself, so a replay needs no
stream: invoke the function (``requestContext.functionArn``, or ``--function``) with
``requestPayload`` and delete the message once the invoke succeeded. Workers are
idempotent (docs/alerts.md, docs/archive.md), so a payload replayed twice does no harm.
A record without ``requestPayload`` (Lambda drops the payloads from records that would
pass 256 KB) cannot be replayed, and says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shardline.dlq import FailureQueue
from shardline.errors import ShardlineError

SYNC, ASYNC = "RequestResponse", "Event"


@dataclass(frozen=True)
class WorkerFailure:
    """One asynchronous-invocation record of a worker's failure queue."""

    queue: str  # "failures" or "dead-letter"
    queue_url: str
    message_id: str
    receipt_handle: str
    request_id: str
    function_arn: str
    condition: str
    invoke_count: int
    timestamp: str
    request_payload: Any = None  # None: Lambda dropped it (over 256 KB)
    function_error: str | None = None
    error_message: str | None = None

    @property
    def records(self) -> int | None:
        """How many records the dispatcher's payload held (None: not a dispatcher payload)."""
        payload = self.request_payload
        if isinstance(payload, dict) and isinstance(payload.get("records"), list):
            return len(payload["records"])
        return None

    def as_row(self) -> dict[str, Any]:
        return {
            "when": self.timestamp, "queue": self.queue,
            "function": function_name_of(self.function_arn),
            "condition": self.condition, "invoke_count": self.invoke_count,
            "records": "-" if self.records is None else self.records,
            "error": self.error_message or self.function_error or "-",
            "request_id": self.request_id,
        }


def function_name_of(function_arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` -> name."""
    parts = function_arn.split(":")
    return parts[6] if len(parts) >= 7 else function_arn


def invoke_target(function_arn: str) -> str:
    """The function to re-invoke: the ARN without ``$LATEST`` (the same function);
    a version or alias qualifier is kept, so the replay runs the code that failed."""
    parts = function_arn.split(":")
    if len(parts) == 8 and parts[7] == "$LATEST":
        return ":".join(parts[:7])
    return function_arn


def parse_worker_failure(body: str, *, queue: str, queue_url: str, message_id: str,
                         receipt_handle: str) -> WorkerFailure:
    """A worker failure-queue message (Lambda's async invocation record)."""
    try:
        record = json.loads(body)
    except ValueError:
        raise ShardlineError(f"message {message_id} in {queue_url} is not an invocation "
                             "record (not JSON)") from None
    request = record.get("requestContext") if isinstance(record, dict) else None
    if not isinstance(request, dict):
        raise ShardlineError(f"message {message_id} in {queue_url} has no requestContext: "
                             "not an asynchronous-invocation record")
    if "KinesisBatchInfo" in record or "DDBStreamBatchInfo" in record:
        raise ShardlineError(f"message {message_id} in {queue_url} is a stream failed batch, "
                             "not a worker's failed event: use `shardline dlq` without --worker")
    response = record.get("responseContext") or {}
    response_payload = record.get("responsePayload")
    error_message = (response_payload.get("errorMessage")
                     if isinstance(response_payload, dict) else None)
    return WorkerFailure(
        queue=queue, queue_url=queue_url, message_id=message_id,
        receipt_handle=receipt_handle,
        request_id=str(request.get("requestId", "")),
        function_arn=str(request.get("functionArn", "")),
        condition=str(request.get("condition", "")),
        invoke_count=int(request.get("approximateInvokeCount") or 0),
        timestamp=str(record.get("timestamp", "")),
        request_payload=record.get("requestPayload"),
        function_error=response.get("functionError") if isinstance(response, dict) else None,
        error_message=" ".join(str(error_message).split()) if error_message else None,
    )


class WorkerFailureQueue(FailureQueue):
    """A worker's failure queue (and its dead-letter queue, if it has one)."""

    def parse(self, message: dict[str, Any], *, queue: str, queue_url: str) -> WorkerFailure:
        return parse_worker_failure(message["Body"], queue=queue, queue_url=queue_url,
                                    message_id=message["MessageId"],
                                    receipt_handle=message["ReceiptHandle"])

    @staticmethod
    def listing_order(failure: Any) -> tuple[Any, ...]:
        return (failure.timestamp, failure.request_id)

    replay_order = listing_order


def invoke_request(failure: WorkerFailure, *, function: str | None = None,
                   asynchronous: bool = False) -> dict[str, Any]:
    """The Lambda ``Invoke`` request that replays ``failure``."""
    if failure.request_payload is None:
        raise ShardlineError(f"failure {failure.request_id or failure.message_id} carries no "
                             "requestPayload (Lambda drops it from records over 256 KB): "
                             "it cannot be replayed")
    target = function or invoke_target(failure.function_arn)
    if not target:
        raise ShardlineError(f"failure {failure.message_id} names no function: "
                             "pass --function")
    return {"FunctionName": target, "InvocationType": ASYNC if asynchronous else SYNC,
            "Payload": json.dumps(failure.request_payload).encode("utf-8")}


def reinvoke(lambda_client: Any, failure: WorkerFailure, request: dict[str, Any]) -> None:
    """Send ``request``; ``ShardlineError`` unless Lambda accepted it (asynchronous) or the
    function returned without a function error (synchronous)."""
    response = lambda_client.invoke(**request)
    where = f"replaying {failure.request_id or failure.message_id} through " \
            f"{request['FunctionName']}"
    if request["InvocationType"] == ASYNC:
        if response.get("StatusCode") != 202:
            raise ShardlineError(f"{where}: not accepted (status {response.get('StatusCode')})"
                                 "; the failure stays queued")
        return
    if response.get("FunctionError"):
        body = response["Payload"].read()
        try:
            detail = json.loads(body).get("errorMessage") or body[:200]
        except (ValueError, AttributeError):
            detail = body[:200]
        raise ShardlineError(f"function error {where}: {' '.join(str(detail).split())}; "
                             "the failure stays queued")


def replay_worker_failures(queue: WorkerFailureQueue, lambda_client: Any, *,
                           function: str | None = None, asynchronous: bool = False,
                           on_replayed: Callable[[WorkerFailure], None] | None = None,
                           ) -> list[WorkerFailure]:
    """Replay every queued worker failure, oldest first, deleting each after its invoke
    succeeded. Stops at the first that cannot be replayed (``ShardlineError``); it and
    the ones not yet replayed stay queued and visible again."""
    failures = queue.take()
    if not failures:
        raise ShardlineError(f"no failed events are queued in {queue.queue_name}: "
                             "nothing to replay")
    replayed: list[WorkerFailure] = []
    for index, failure in enumerate(failures):
        try:
            request = invoke_request(failure, function=function, asynchronous=asynchronous)
            reinvoke(lambda_client, failure, request)
        except BaseException:
            for pending in failures[index:]:
                queue.release(pending)
            raise
        queue.delete(failure)
        replayed.append(failure)
        if on_replayed is not None:
            on_replayed(failure)
    return replayed


__all__ = ["WorkerFailure", "WorkerFailureQueue", "function_name_of", "invoke_request",
           "invoke_target", "parse_worker_failure", "reinvoke", "replay_worker_failures"]
