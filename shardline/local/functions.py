"""The local Lambda service's executor: runs a function's deployed handler like Lambda does.

A function is described by what Terraform created (``GetFunctionConfiguration``) and its
code is the zip Terraform uploaded, unpacked once per code hash. Two isolations:

* ``process`` (``shardline local up``): execution environments of the function's own
  (``environments.py``): worker processes started with exactly the function's
  environment variables, Lambda's, and temporary credentials of its execution role from
  the embedded STS; init runs once per environment; the timeout ends the environment;
  at most the function's reserved concurrency (or ``max_concurrency``) of them at once.
* ``thread`` (the conformance suite on its virtual clock): handlers imported into this
  interpreter and run on threads (``inprocess.py``), the same engine code around them.

Results go through JSON both ways, as the Lambda service's do. Configuration and code
updated through the Lambda API apply to the next invocation (re-read at most once per
``refresh_interval_s``).
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

from shardline.local import embedded
from shardline.local.credentials import RoleSessions
from shardline.local.environments import EnvironmentPool, EnvironmentSpec, Outcome
from shardline.local.inprocess import InProcessFunctions
from shardline.local.results import InvocationResult, error_result, runtime_error
from shardline.local.versions import LATEST, VersionRouter, split_qualifier

Isolation = Literal["process", "thread"]
# The PATH Lambda's Python runtimes set; nothing else of the host's is passed on.
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin"


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
    runtime: str = "python3.12"
    tracing_mode: str = "PassThrough"
    version: str = LATEST

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
            runtime=data.get("Runtime") or "python3.12",
            tracing_mode=(data.get("TracingConfig") or {}).get("Mode") or "PassThrough",
            version=str(data.get("Version") or LATEST),
        )

    @property
    def keys(self) -> set[str]:
        """What names this version: its qualified ARN, and for ``$LATEST`` the bare name
        and unqualified ARN too."""
        if self.version != LATEST:
            return {self.arn}
        return {self.name, self.arn, f"{self.arn}:{LATEST}", f"{self.name}:{LATEST}"}


@dataclass
class _Function:
    config: FunctionConfig
    pool: EnvironmentPool
    checked_at: float


DEFAULT_MAX_CONCURRENCY = 10  # environments per function unless told otherwise


@dataclass
class FunctionRuntime:
    """Loads and invokes functions by name or ARN; thread-safe."""

    lambda_client: Any
    code_dir: Path
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    log_dir: Path | None = None
    refresh_interval_s: float = 1.0
    isolation: Isolation = "process"
    # Process isolation: where the functions' clients reach AWS, and the role sessions
    # their credentials come from (None: the environment gets no credentials).
    endpoint_url: str | None = None
    region: str = embedded.LOCAL_REGION
    credentials: RoleSessions | None = None
    # Seeds the weighted alias routing (versions.py); None: unseeded, as on AWS.
    routing_seed: int | None = None
    versions: VersionRouter = field(init=False)
    _functions: dict[str, _Function] = field(default_factory=dict)
    _in_process: InProcessFunctions | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.versions = VersionRouter(self.lambda_client, self.routing_seed)
        if self.isolation == "thread":
            self._in_process = InProcessFunctions(self)

    def describe(self, function: str) -> FunctionConfig:
        data = self.lambda_client.get_function_configuration(FunctionName=function)
        return FunctionConfig.from_api(data)

    def invoke(self, function: str, event: Any, *,
               request_id: str | None = None) -> InvocationResult:
        """Invoke synchronously (RequestResponse) and return what Lambda would.

        ``request_id`` is the invocation's ID as the handler's context sees it; Lambda
        keeps one ID across the retries of an asynchronous event, so callers pass it.
        Waits for a free environment when the function is at its concurrency. A
        qualified name or ARN runs that version, an alias the version it points to.
        """
        request_id = request_id or str(uuid.uuid4())
        target = self.versions.resolve(function)
        version = split_qualifier(target)[1] or LATEST
        if self._in_process is not None:
            result = self._in_process.invoke(target, event, request_id, invoked=function)
        else:
            result = self._invoke_in_environment(target, function, event, request_id)
        return replace(result, executed_version=version)

    def _invoke_in_environment(self, target: str, function: str, event: Any,
                               request_id: str) -> InvocationResult:
        loaded = self._load(target)
        config = loaded.config
        started = time.monotonic()
        environment = loaded.pool.acquire(partial(self._spec, config), timeout_s=None)
        if environment is None:
            return error_result("Runtime.Unavailable", "the local runtime is stopping",
                                started, request_id)
        message = {
            "type": "invoke", "event": json.dumps(event), "request_id": request_id,
            "invoked_function_arn": function if function.startswith("arn:") else config.arn,
            "trace_id": _trace_header(config.tracing_mode),
        }
        outcome = environment.invoke(message, config.timeout_s)
        # A timed-out or exited environment ends; so does one whose init failed.
        loaded.pool.release(environment, reusable=environment.ready
                            and outcome.kind in ("result", "error"))
        return _result(outcome, config, started, request_id)

    def unpack(self, config: FunctionConfig) -> Path:
        """The deployed zip, unpacked once per code hash."""
        safe_hash = config.code_sha256.replace("/", "_").replace("+", "-").rstrip("=")
        target = self.code_dir / f"{config.name}-{config.version.strip('$')}-{safe_hash[:16]}"
        if not target.is_dir():
            code = embedded.function_code(config.arn)  # qualified: that version's code
            staging = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.tmp")
            with zipfile.ZipFile(io.BytesIO(code)) as archive:
                archive.extractall(staging)
            try:
                staging.rename(target)
            except OSError:  # unpacked meanwhile by another invocation
                if not target.is_dir():
                    raise
        return target

    def capacity(self, function: str) -> int:
        """How many invocations of the function may run at once here."""
        if self._in_process is not None:
            return self._capacity(function)
        return self._load(function).pool.capacity

    def environments(self, function: str) -> EnvironmentPool:
        """The function's execution environments (process isolation)."""
        return self._load(function).pool

    def close(self) -> None:
        if self._in_process is not None:
            self._in_process.close()
        with self._lock:
            pools = {id(f.pool): f.pool for f in self._functions.values()}
            self._functions.clear()
        for pool in pools.values():
            pool.close()

    # -- internals ---------------------------------------------------------------------
    def _load(self, function: str) -> _Function:
        with self._lock:
            loaded = self._functions.get(function)
            if loaded is not None:
                if time.monotonic() - loaded.checked_at >= self.refresh_interval_s:
                    self._refresh(loaded)
                return loaded
            config = self.describe(function)
            loaded = _Function(config, EnvironmentPool(self._capacity(config.arn)),
                               time.monotonic())
            for key in {function} | config.keys:
                self._functions[key] = loaded
            return loaded

    def _refresh(self, loaded: _Function) -> None:
        """Configuration or code updated through the Lambda API since the last look apply
        to new environments; warm ones are ended."""
        current = self.describe(loaded.config.arn)
        loaded.checked_at = time.monotonic()
        loaded.pool.capacity = self._capacity(current.arn)
        if current != loaded.config:
            loaded.config = current
            loaded.pool.renew(loaded.pool.generation + 1)

    def _capacity(self, function: str) -> int:
        """Reserved concurrency when set (at most the local cap), else the local cap."""
        data = self.lambda_client.get_function_concurrency(
            FunctionName=split_qualifier(function)[0])  # shared by all its versions
        reserved = data.get("ReservedConcurrentExecutions")
        return self.max_concurrency if reserved is None else min(int(reserved),
                                                                 self.max_concurrency)

    def _spec(self, config: FunctionConfig, generation: int) -> EnvironmentSpec:
        code_root = self.unpack(config)
        log_path = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self.log_dir / f"{config.name}.log"
        return EnvironmentSpec(config.name, config.handler, code_root,
                               self._variables(config, code_root), log_path, generation)

    def _variables(self, config: FunctionConfig, code_root: Path) -> dict[str, str]:
        """Exactly what Lambda puts in an environment: the function's variables, the
        runtime's, and the execution role's credentials (plus the local endpoint)."""
        log_stream = f"{time.strftime('%Y/%m/%d')}/[{config.version}]{secrets.token_hex(16)}"
        variables = {
            **config.environment,
            "_HANDLER": config.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            # Nothing listens there locally: trace segments are dropped, as with no daemon.
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "LAMBDA_TASK_ROOT": str(code_root),
            "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
            "LANG": "en_US.UTF-8",
            "PATH": LAMBDA_PATH,
            "TZ": ":UTC",
        }
        if self.endpoint_url:
            variables["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.credentials is not None and config.role:
            variables.update(self.credentials.credentials(config.role).environment())
        return variables


def _trace_header(tracing_mode: str) -> str:
    """An X-Ray trace header for one invocation; sampled when tracing is Active."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    sampled = "1" if tracing_mode == "Active" else "0"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled={sampled}"


def _result(outcome: Outcome, config: FunctionConfig, started: float,
            request_id: str) -> InvocationResult:
    if outcome.kind == "result":
        elapsed = (time.monotonic() - started) * 1000
        return InvocationResult(json.loads(outcome.payload), None, None, elapsed, request_id)
    if outcome.kind == "error":
        document = dict(outcome.payload)
        return InvocationResult(document, "Unhandled", document.get("errorType"),
                                (time.monotonic() - started) * 1000, request_id)
    if outcome.kind == "timeout":
        return error_result("Sandbox.Timedout", f"RequestId: {request_id} Error: Task timed "
                            f"out after {config.timeout_s:.2f} seconds", started, request_id)
    return runtime_error("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime "
                         f"exited with error: exit status {outcome.payload}", started,
                         request_id)


__all__ = ["FunctionConfig", "FunctionRuntime", "InvocationResult"]
