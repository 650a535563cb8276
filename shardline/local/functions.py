"""In-process Lambda executor: runs a function's deployed handler like Lambda would.

A function is described by what Terraform created (``GetFunctionConfiguration``) and
its code is the zip Terraform uploaded. The handler is imported from that zip (unpacked
once per code hash); when the same package is already importable in this interpreter
(an editable install of the project), the runtime checks that its files are byte for
byte the deployed ones and refuses to run stale code. Each invocation sees the
function's environment variables (see ``environ.py``), a Lambda context object, and its
configured timeout: a handler that overruns fails as a timed-out Lambda does. Results
go through JSON both ways, as the Lambda service's do.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import importlib
import importlib.util
import io
import json
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shardline.errors import ShardlineError
from shardline.local import embedded
from shardline.local.environ import function_environment
from shardline.local.logs import function_output


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int
    code_sha256: str
    role: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> FunctionConfig:
        return cls(
            name=data["FunctionName"],
            arn=data["FunctionArn"],
            handler=data["Handler"],
            environment=dict((data.get("Environment") or {}).get("Variables") or {}),
            timeout_s=int(data.get("Timeout") or 3),
            memory_mb=int(data.get("MemorySize") or 128),
            code_sha256=data.get("CodeSha256", ""),
            role=data.get("Role", ""),
        )


@dataclass(frozen=True)
class InvocationResult:
    """What the Lambda service reports back for one invocation."""

    payload: Any  # the handler's JSON-decoded response, or the error document
    function_error: str | None  # "Unhandled" on a function error, else None
    error_type: str | None
    duration_ms: float
    request_id: str

    @property
    def ok(self) -> bool:
        return self.function_error is None


class LambdaContext:
    """The context object handlers receive (the attributes Powertools reads)."""

    def __init__(self, config: FunctionConfig, request_id: str, deadline: float) -> None:
        self.function_name = config.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = config.arn
        self.memory_limit_in_mb = config.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{config.name}"
        self.log_stream_name = f"local/{request_id}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class _LoadedFunction:
    config: FunctionConfig
    handler: Callable[[Any, Any], Any]
    pool: concurrent.futures.ThreadPoolExecutor
    log: Any = None  # the function's log file (a text stream), when logs are kept
    checked_at: float = 0.0  # monotonic time of the last GetFunctionConfiguration


@dataclass
class FunctionRuntime:
    """Loads and invokes functions by name or ARN; thread-safe."""

    lambda_client: Any
    code_dir: Path
    max_concurrency: int = 10
    log_dir: Path | None = None
    # How often a loaded function's configuration is read again, so that updates made
    # while running (environment, timeout, handler, code) apply to the next invocation.
    refresh_interval_s: float = 1.0
    _loaded: dict[str, _LoadedFunction] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self, function: str) -> FunctionConfig:
        data = self.lambda_client.get_function_configuration(FunctionName=function)
        return FunctionConfig.from_api(data)

    def _load(self, function: str) -> _LoadedFunction:
        with self._lock:
            loaded = self._loaded.get(function)
            if loaded is not None:
                if time.monotonic() - loaded.checked_at >= self.refresh_interval_s:
                    self._refresh(loaded)
                return loaded
            config = self.describe(function)
            log_file = self._open_log(config)
            with function_output(log_file):
                handler = self._import_handler(config)
            loaded = _LoadedFunction(
                config,
                handler,
                concurrent.futures.ThreadPoolExecutor(
                    max_workers=self.max_concurrency, thread_name_prefix=f"λ-{config.name}"
                ),
                log_file,
                time.monotonic(),
            )
            self._loaded[config.name] = loaded
            self._loaded[config.arn] = loaded
            if function not in (config.name, config.arn):
                self._loaded[function] = loaded
            return loaded

    def _refresh(self, loaded: _LoadedFunction) -> None:
        """Apply configuration or code updated through the Lambda API since the last look."""
        current = self.describe(loaded.config.arn)
        loaded.checked_at = time.monotonic()
        if current == loaded.config:
            return
        if (current.code_sha256, current.handler) != (loaded.config.code_sha256,
                                                      loaded.config.handler):
            _forget_code(self._unpack(loaded.config))
            with function_output(loaded.log):
                loaded.handler = self._import_handler(current)
        loaded.config = current

    def _open_log(self, config: FunctionConfig) -> Any:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return open(self.log_dir / f"{config.name}.log", "a", buffering=1, encoding="utf-8")

    def _import_handler(self, config: FunctionConfig) -> Callable[[Any, Any], Any]:
        module_name, _, attribute = config.handler.rpartition(".")
        if not module_name:
            raise ShardlineError(f"function {config.name}: handler {config.handler!r} "
                                 "is not of the form module.function")
        code_root = self._unpack(config)
        top_level = module_name.split(".")[0]
        if top_level not in sys.modules and importlib.util.find_spec(top_level) is None:
            sys.path.append(str(code_root))
        with function_environment(config.environment):
            module = importlib.import_module(module_name)
        _check_same_code(config, code_root, top_level)
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise ShardlineError(f"function {config.name}: {config.handler} is not callable")
        return handler

    def _unpack(self, config: FunctionConfig) -> Path:
        safe_hash = config.code_sha256.replace("/", "_").replace("+", "-").rstrip("=")
        target = self.code_dir / f"{config.name}-{safe_hash[:16]}"
        if not target.is_dir():
            code = embedded.function_code(config.arn)
            staging = target.with_suffix(".tmp")
            with zipfile.ZipFile(io.BytesIO(code)) as archive:
                archive.extractall(staging)
            staging.rename(target)
        return target

    def invoke(self, function: str, event: Any, *,
               request_id: str | None = None) -> InvocationResult:
        """Invoke synchronously (RequestResponse) and return what Lambda would.

        ``request_id`` is the invocation's ID as the handler's context sees it; Lambda
        keeps one ID across the retries of an asynchronous event, so callers pass it.
        """
        loaded = self._load(function)
        config = loaded.config
        request_id = request_id or str(uuid.uuid4())
        # The event crosses a JSON boundary, as it does in Lambda.
        event_copy = json.loads(json.dumps(event))
        deadline = time.monotonic() + config.timeout_s
        context = LambdaContext(config, request_id, deadline)
        environment = {**config.environment, "AWS_LAMBDA_FUNCTION_NAME": config.name,
                       "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb)}

        def run() -> Any:
            with function_environment(environment), function_output(loaded.log):
                return loaded.handler(event_copy, context)

        started = time.monotonic()
        future = loaded.pool.submit(contextvars.copy_context().run, run)
        try:
            response = future.result(timeout=config.timeout_s)
        except concurrent.futures.TimeoutError:
            # The service's document for a timed-out invocation (no stack trace).
            return _error(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after "
                f"{config.timeout_s:.2f} seconds",
                started, request_id,
            )
        except Exception as exc:  # the handler raised: a function error
            return _handler_error(exc, started, request_id)
        try:
            payload = json.loads(json.dumps(response))
        except (TypeError, ValueError) as exc:
            return _runtime_error("Runtime.MarshalError", f"Unable to marshal response: {exc}",
                                  started, request_id)
        return InvocationResult(payload, None, None, _elapsed_ms(started), request_id)

    def close(self) -> None:
        for loaded in {id(v): v for v in self._loaded.values()}.values():
            loaded.pool.shutdown(wait=False, cancel_futures=True)
            if loaded.log is not None:
                loaded.log.close()
        self._loaded.clear()


def _elapsed_ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _error(error_type: str, message: str, started: float, request_id: str) -> InvocationResult:
    payload = {"errorMessage": message, "errorType": error_type}
    return InvocationResult(payload, "Unhandled", error_type, _elapsed_ms(started), request_id)


def _runtime_error(error_type: str, message: str, started: float,
                   request_id: str) -> InvocationResult:
    """An error the Python runtime reports itself (e.g. an unmarshallable response)."""
    payload = {"errorMessage": message, "errorType": error_type, "requestId": request_id,
               "stackTrace": []}
    return InvocationResult(payload, "Unhandled", error_type, _elapsed_ms(started), request_id)


def _handler_error(exc: BaseException, started: float, request_id: str) -> InvocationResult:
    """The Python runtime's error document: the handler's frames, not the runtime's."""
    frames = traceback.extract_tb(exc.__traceback__)
    runtime_frames = [i for i, frame in enumerate(frames) if frame.filename == __file__]
    handler_frames = frames[runtime_frames[-1] + 1:] if runtime_frames else frames
    payload = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(handler_frames),
    }
    return InvocationResult(payload, "Unhandled", type(exc).__name__, _elapsed_ms(started),
                            request_id)


def _forget_code(code_root: Path) -> None:
    """Drop modules imported from an old deployment, so its replacement is imported anew."""
    root = str(code_root.resolve())
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if origin and str(Path(origin).resolve()).startswith(root + "/"):
            del sys.modules[name]
    if str(code_root) in sys.path:
        sys.path.remove(str(code_root))


def _check_same_code(config: FunctionConfig, code_root: Path, top_level: str) -> None:
    """Refuse to run an importable package that differs from the deployed zip."""
    module = sys.modules.get(top_level)
    module_file = getattr(module, "__file__", None)
    if module_file is None:
        return
    package_parent = Path(module_file).resolve().parent.parent
    if package_parent == code_root.resolve():
        return
    for deployed in sorted((code_root / top_level).rglob("*.py")):
        relative = deployed.relative_to(code_root)
        live = package_parent / relative
        if not live.is_file() or live.read_bytes() != deployed.read_bytes():
            raise ShardlineError(
                f"function {config.name}: the code this interpreter would run "
                f"({relative}) differs from the deployed package; rebuild and re-apply "
                "(`make package`, then restart `shardline local up`)"
            )
