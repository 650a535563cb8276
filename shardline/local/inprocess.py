"""Thread isolation: handlers imported into this interpreter (the conformance suite).

The conformance suite steps the engine on a virtual clock and its handlers record what
they see in this process, so it runs them here rather than in execution environments:
the same engine code around them, the same JSON boundary, timeouts and error documents.
Each invocation sees its function's environment variables through a context-local
``os.environ`` overlay (``environ.py``) and writes its output to the function's log
(``logs.py``). A timed-out handler's thread runs to completion in the background (Python
cannot kill a thread); its result is discarded. When the same package is importable from
the project, the runtime refuses to run it if its files differ from the deployed zip.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import importlib
import importlib.util
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shardline.errors import ShardlineError
from shardline.local.environ import function_environment
from shardline.local.logs import function_output
from shardline.local.results import (
    InvocationResult,
    elapsed_ms,
    error_result,
    handler_error,
    runtime_error,
)

if TYPE_CHECKING:
    from shardline.local.functions import FunctionConfig, FunctionRuntime


class LambdaContext:
    """The context object handlers receive (the attributes Powertools reads)."""

    def __init__(self, config: FunctionConfig, request_id: str, deadline: float,
                 invoked_arn: str) -> None:
        self.function_name = config.name
        self.function_version = config.version
        self.invoked_function_arn = invoked_arn
        self.memory_limit_in_mb = config.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{config.name}"
        self.log_stream_name = f"local/{request_id}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class _Loaded:
    config: FunctionConfig
    handler: Callable[[Any, Any], Any]
    pool: concurrent.futures.ThreadPoolExecutor
    log: Any = None  # the function's log file (a text stream), when logs are kept
    checked_at: float = 0.0  # monotonic time of the last GetFunctionConfiguration


class InProcessFunctions:
    """Loads handlers into this interpreter and runs them on threads; thread-safe."""

    def __init__(self, runtime: FunctionRuntime) -> None:
        self.runtime = runtime
        self._loaded: dict[str, _Loaded] = {}
        self._lock = threading.Lock()

    def invoke(self, function: str, event: Any, request_id: str, *,
               invoked: str | None = None) -> InvocationResult:
        """Run ``function`` (a resolved version); ``invoked`` is what the caller named."""
        loaded = self._load(function)
        config = loaded.config
        # The event crosses a JSON boundary, as it does in Lambda.
        event_copy = json.loads(json.dumps(event))
        invoked_arn = invoked if invoked and invoked.startswith("arn:") else config.arn
        context = LambdaContext(config, request_id, time.monotonic() + config.timeout_s,
                                invoked_arn)
        environment = {**config.environment, "AWS_LAMBDA_FUNCTION_NAME": config.name,
                       "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
                       "AWS_LAMBDA_FUNCTION_VERSION": config.version}

        def run() -> Any:
            with function_environment(environment), function_output(loaded.log):
                return loaded.handler(event_copy, context)

        started = time.monotonic()
        future = loaded.pool.submit(contextvars.copy_context().run, run)
        try:
            response = future.result(timeout=config.timeout_s)
        except concurrent.futures.TimeoutError:
            return error_result(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after "
                f"{config.timeout_s:.2f} seconds",
                started, request_id,
            )
        except Exception as exc:  # the handler raised: a function error
            return handler_error(exc, __file__, started, request_id)
        try:
            payload = json.loads(json.dumps(response))
        except (TypeError, ValueError) as exc:
            return runtime_error("Runtime.MarshalError", f"Unable to marshal response: {exc}",
                                 started, request_id)
        return InvocationResult(payload, None, None, elapsed_ms(started), request_id)

    def close(self) -> None:
        for loaded in {id(v): v for v in self._loaded.values()}.values():
            loaded.pool.shutdown(wait=False, cancel_futures=True)
            if loaded.log is not None:
                loaded.log.close()
        self._loaded.clear()

    # -- loading -----------------------------------------------------------------------
    def _load(self, function: str) -> _Loaded:
        runtime = self.runtime
        with self._lock:
            loaded = self._loaded.get(function)
            if loaded is not None:
                if time.monotonic() - loaded.checked_at >= runtime.refresh_interval_s:
                    self._refresh(loaded)
                return loaded
            config = runtime.describe(function)
            log_file = self._open_log(config)
            self._forget_other_versions(config)
            with function_output(log_file):
                handler = self._import_handler(config)
            loaded = _Loaded(
                config, handler,
                concurrent.futures.ThreadPoolExecutor(
                    max_workers=runtime.max_concurrency, thread_name_prefix=f"λ-{config.name}"
                ),
                log_file, time.monotonic(),
            )
            for key in {function} | config.keys:
                self._loaded[key] = loaded
            return loaded

    def _forget_other_versions(self, config: FunctionConfig) -> None:
        """Another version of the function shares its module names: drop that version's
        modules so this one's are imported (its loaded handler keeps its own)."""
        for other in {id(v): v for v in self._loaded.values()}.values():
            if other.config.name == config.name and other.config != config:
                _forget_code(self.runtime.unpack(other.config))

    def _refresh(self, loaded: _Loaded) -> None:
        """Apply configuration or code updated through the Lambda API since the last look."""
        current = self.runtime.describe(loaded.config.arn)
        loaded.checked_at = time.monotonic()
        if current == loaded.config:
            return
        if (current.code_sha256, current.handler) != (loaded.config.code_sha256,
                                                      loaded.config.handler):
            _forget_code(self.runtime.unpack(loaded.config))
            with function_output(loaded.log):
                loaded.handler = self._import_handler(current)
        loaded.config = current

    def _open_log(self, config: FunctionConfig) -> Any:
        log_dir = self.runtime.log_dir
        if log_dir is None:
            return None
        log_dir.mkdir(parents=True, exist_ok=True)
        return open(log_dir / f"{config.name}.log", "a", buffering=1, encoding="utf-8")

    def _import_handler(self, config: FunctionConfig) -> Callable[[Any, Any], Any]:
        module_name, _, attribute = config.handler.rpartition(".")
        if not module_name:
            raise ShardlineError(f"function {config.name}: handler {config.handler!r} "
                                 "is not of the form module.function")
        code_root = self.runtime.unpack(config)
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
