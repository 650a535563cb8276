"""Lambda's asynchronous-invocation records, as a worker's on-failure queue holds them
(the shape ``shardline/local/async_invoke.py`` and AWS send)."""

from __future__ import annotations

from typing import Any

from tests.factories.kinesis import ACCOUNT_ID, REGION

WORKER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:shardline-device-state"


def invocation_record(payload: Any, *, function_arn: str = f"{WORKER_ARN}:$LATEST",
                      request_id: str = "req-1", condition: str = "RetriesExhausted",
                      invoke_count: int = 3, error: str | None = "table is throttled",
                      timestamp: str = "2025-11-23T12:14:00.000Z",
                      with_payload: bool = True) -> dict[str, Any]:
    """An on-failure record of one async event; ``with_payload=False`` is what Lambda
    sends when the payloads would pass 256 KB."""
    record: dict[str, Any] = {
        "version": "1.0", "timestamp": timestamp,
        "requestContext": {"requestId": request_id, "functionArn": function_arn,
                           "condition": condition, "approximateInvokeCount": invoke_count},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": error, "errorType": "RuntimeError"},
    }
    if with_payload:
        record["requestPayload"] = payload
    return record


__all__ = ["WORKER_ARN", "invocation_record"]
