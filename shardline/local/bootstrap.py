"""The runtime inside one execution environment: what Lambda's Python runtime client does.

The local runtime starts this file as a fresh interpreter (``python -I bootstrap.py FD``)
with exactly the function's environment (its variables, Lambda's, and its role's
temporary credentials), its working directory at the unpacked code, stdout and stderr
going to the function's log. It imports the handler once (the init phase), then serves
invocations one at a time over the connection on file descriptor FD until it is killed:

    parent → {"type": "invoke", "event": "<json>", "request_id", "deadline_ms",
              "invoked_function_arn", "trace_id"}
    child  → {"type": "ready"} | {"type": "init_error", "error": {...}}         (once)
             {"type": "result", "payload": "<json>"} | {"type": "error", "error": {...}}

It imports nothing but the standard library before the handler, so the handler's module
sees only the deployed code (the task root first on ``sys.path``) and the dependencies
installed beside the interpreter, as it would see /var/task and its layers.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any


class LambdaContext:
    """The context object handlers receive."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        environ = os.environ
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = int(environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _user_frames(exc: BaseException) -> list[str]:
    """The handler's frames, not this runtime's (as Lambda's stackTrace shows them)."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if frame.filename != __file__]
    return traceback.format_list(frames)


def _error(error_type: str, message: str, request_id: str | None = None,
           stack: list[str] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if request_id is not None:
        document["requestId"] = request_id
    document["stackTrace"] = stack or []
    return document


def _drop_editable_finders() -> None:
    """Editable installs add import finders that map packages to a source checkout; the
    deployed code must come from the task root only."""
    sys.meta_path[:] = [finder for finder in sys.meta_path
                        if "__editable__" not in getattr(finder, "__module__", "")
                        and "__editable__" not in repr(finder)]


def _load_handler(handler: str) -> Any:
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise _InitError("Runtime.MalformedHandlerName",
                         f"Bad handler '{handler}': not enough values to unpack")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError("Runtime.ImportModuleError",
                         f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        raise _InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module "
                         f"'{module_name}': {exc}") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise _InitError("Runtime.HandlerNotFound",
                         f"Handler '{attribute}' missing on module '{module_name}'")
    return function


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _invoke(handler: Any, message: dict[str, Any]) -> dict[str, Any]:
    request_id = message["request_id"]
    if message.get("trace_id"):
        os.environ["_X_AMZN_TRACE_ID"] = message["trace_id"]
    context = LambdaContext(request_id, int(message["deadline_ms"]),
                            message["invoked_function_arn"])
    event = json.loads(message["event"])
    try:
        response = handler(event, context)
    except Exception as exc:
        traceback.print_exc()
        return {"type": "error", "error": _error(type(exc).__name__, str(exc), request_id,
                                                 _user_frames(exc))}
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    try:
        payload = json.dumps(response)
    except (TypeError, ValueError) as exc:
        return {"type": "error", "error": _error(
            "Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id)}
    return {"type": "result", "payload": payload}


def main(fd: int, handler_name: str, given_lc_ctype: bool) -> None:
    connection = Connection(fd)
    if not given_lc_ctype:
        # The interpreter sets LC_CTYPE itself when the host lacks the locale LANG names
        # (PEP 538); the function's environment is what it was given, nothing more.
        os.environ.pop("LC_CTYPE", None)
    _drop_editable_finders()
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
    try:
        handler = _load_handler(handler_name)
    except _InitError as exc:
        connection.send_bytes(json.dumps({"type": "init_error", "error": _error(
            exc.error_type, str(exc))}).encode())
        return
    except Exception as exc:  # an exception raised by the module's init code
        traceback.print_exc()
        connection.send_bytes(json.dumps({"type": "init_error", "error": _error(
            type(exc).__name__, str(exc), stack=_user_frames(exc))}).encode())
        return
    finally:
        sys.stdout.flush()
    connection.send_bytes(b'{"type": "ready"}')
    while True:
        try:
            message = json.loads(connection.recv_bytes())
        except EOFError:
            return
        connection.send_bytes(json.dumps(_invoke(handler, message)).encode())


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1")
