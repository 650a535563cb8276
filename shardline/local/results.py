"""What the Lambda service reports back for one invocation, and its error documents."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InvocationResult:
    """What the Lambda service reports back for one invocation."""

    payload: Any  # the handler's JSON-decoded response, or the error document
    function_error: str | None  # "Unhandled" on a function error, else None
    error_type: str | None
    duration_ms: float
    request_id: str
    executed_version: str = "$LATEST"  # the version that ran (an alias resolves to one)

    @property
    def ok(self) -> bool:
        return self.function_error is None


def elapsed_ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def error_result(error_type: str, message: str, started: float,
                 request_id: str) -> InvocationResult:
    """The service's document for an invocation that ended without the handler's own
    error (a timeout: no stack trace)."""
    payload = {"errorMessage": message, "errorType": error_type}
    return InvocationResult(payload, "Unhandled", error_type, elapsed_ms(started), request_id)


def runtime_error(error_type: str, message: str, started: float,
                  request_id: str) -> InvocationResult:
    """An error the Python runtime reports itself (an unmarshallable response, an exit)."""
    payload = {"errorMessage": message, "errorType": error_type, "requestId": request_id,
               "stackTrace": []}
    return InvocationResult(payload, "Unhandled", error_type, elapsed_ms(started), request_id)


def handler_error(exc: BaseException, runtime_file: str, started: float,
                  request_id: str) -> InvocationResult:
    """The Python runtime's error document: the handler's frames, not the runtime's."""
    frames = traceback.extract_tb(exc.__traceback__)
    runtime_frames = [i for i, frame in enumerate(frames) if frame.filename == runtime_file]
    handler_frames = frames[runtime_frames[-1] + 1:] if runtime_frames else frames
    payload = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(handler_frames),
    }
    return InvocationResult(payload, "Unhandled", type(exc).__name__, elapsed_ms(started),
                            request_id)
