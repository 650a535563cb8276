"""What the Invoke API takes, keeps and records: its limits and errors, a function's
asynchronous-invocation settings, a queued event, and the invocation log's entries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shardline.local.results import InvocationResult

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_S = 21_600
SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT_BYTES = 1024 * 1024


class Throttled(Exception):
    """The function has no concurrency left for this invocation."""


@dataclass(frozen=True, slots=True)
class FunctionInvocation:
    """One entry of the invocation log for an invocation outside stream mappings.

    The leading fields are those of ``kinesis_source.Invocation`` (stream-only ones fixed:
    no mapping, no shard, no records), so readers of the log see one shape.
    """

    function: str
    duration_ms: float
    outcome: str  # ok | error | throttled
    error_type: str | None
    at: float
    invocation_type: str  # RequestResponse | Event
    request_id: str
    attempt: int  # 1 for the first attempt of an event, 2 for its first retry, ...
    trigger: str  # "api", a schedule rule's ARN, or "destination:<function ARN>"
    mapping_uuid: str = ""
    shard_id: str = ""
    first_sequence: str | None = None
    last_sequence: str | None = None
    batch_size: int = 0  # stream records; an event carries none
    final_for_window: bool = False
    window_start: int | None = None


@dataclass(frozen=True)
class EventInvokeConfig:
    """A function's asynchronous-invocation settings (``GetFunctionEventInvokeConfig``)."""

    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_s: int = DEFAULT_MAXIMUM_EVENT_AGE_S
    on_success: str | None = None
    on_failure: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> EventInvokeConfig:
        destinations = data.get("DestinationConfig") or {}
        retries = data.get("MaximumRetryAttempts")
        age = data.get("MaximumEventAgeInSeconds")
        return cls(
            maximum_retry_attempts=DEFAULT_MAXIMUM_RETRY_ATTEMPTS if retries is None
            else int(retries),
            maximum_event_age_s=DEFAULT_MAXIMUM_EVENT_AGE_S if age is None else int(age),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
            on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
        )


@dataclass
class QueuedEvent:
    """An event on a function's asynchronous queue, across its attempts."""

    request_id: str
    function_arn: str
    payload: Any
    enqueued_at: float
    trigger: str
    not_before: float
    invocations: int = 0
    throttles: int = 0
    last_result: InvocationResult | None = None


def decode_payload(payload: bytes) -> Any:
    if not payload:
        return {}
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise api_error("InvalidRequestContentException", 400,
                         f"Could not parse request body into json: {exc}") from None


def api_error(error_type: str, status: int, message: str, **fields: str) -> Exception:
    """An error response of the Lambda API, raised through the embedded AWS's invoke hook."""
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(error_type, message)
    error.code = status
    error.description = json.dumps({"__type": error_type, "message": message, **fields})
    return error
