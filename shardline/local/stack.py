"""``shardline local up``: embedded AWS + the project's Terraform + the engine, in one process.

1. start moto's server in this process (``EmbeddedAws``);
2. build the Lambda zips and ``terraform apply -var-file=envs/local.tfvars`` against it;
3. run the event-source-mapping engine on what Terraform created.

The stack's files live in ``<project>/.shardline/local``: Terraform data and state,
unpacked function code, function logs (``logs/<function>.log``), ``outputs.json``, and
``stack.json`` (endpoint and pid) while a stack is up.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from shardline import packaging
from shardline.errors import ShardlineError
from shardline.local.alarm_actions import publish_refusal
from shardline.local.alarm_evaluator import AlarmEvaluator
from shardline.local.api_server import ApiServer, serve_http_api
from shardline.local.credentials import RoleSessions
from shardline.local.embedded import (
    DEFAULT_PORT,
    LOCAL_ACCOUNT_ID,
    LOCAL_REGION,
    EmbeddedAws,
    attach_runtime,
)
from shardline.local.embedded_ttl import TtlSweeper
from shardline.local.engine import Engine
from shardline.local.functions import DEFAULT_MAX_CONCURRENCY, FunctionRuntime
from shardline.local.metrics_publisher import MetricsPublisher
from shardline.local.status import STATUS_FILE, StatusWriter
from shardline.terraform import Terraform

log = logging.getLogger("shardline.local")

LOCAL_VAR_FILE = "envs/local.tfvars"


def project_root() -> Path:
    """The checkout holding terraform/ and lambdas/ (SHARDLINE_HOME overrides)."""
    explicit = os.environ.get("SHARDLINE_HOME")
    candidates = [Path(explicit)] if explicit else []
    candidates += [Path(__file__).resolve().parents[2], Path.cwd()]
    for candidate in candidates:
        if (candidate / "terraform" / "main.tf").is_file() and (candidate / "lambdas").is_dir():
            return candidate
    raise ShardlineError("cannot find the shardline project (terraform/ and lambdas/); "
                         "run from the checkout or set SHARDLINE_HOME")


def state_dir(root: Path) -> Path:
    """Where a stack keeps its files: ``SHARDLINE_STATE_DIR``, else ``.shardline/local``."""
    explicit = os.environ.get("SHARDLINE_STATE_DIR")
    return Path(explicit) if explicit else root / ".shardline" / "local"


@dataclass
class LocalStack:
    """The embedded stack's lifecycle; usable as a context manager (tests, demo)."""

    root: Path = field(default_factory=project_root)
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    dir: Path | None = None  # default: state_dir(root)
    iam: bool = True  # enforce IAM and KMS after terraform apply (``local up --no-iam``)
    # Execution environments per function at most (``local up --max-concurrency``): the
    # local cap under any reserved concurrency; each environment is a process.
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    # Port of the local HTTP API endpoint (``local up --api-port``; 0: any free port).
    api_port: int = 0
    aws: EmbeddedAws = field(init=False)
    api: ApiServer | None = None
    engine: Engine | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    _runtime: FunctionRuntime | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.dir is None:
            self.dir = state_dir(self.root)
        self.aws = EmbeddedAws(self.host, self.port, state_dir=self.dir)

    @property
    def endpoint_url(self) -> str:
        return self.aws.endpoint_url

    def client(self, service: str) -> Any:
        """A new client with the administrator's credentials (a caller may change it)."""
        return boto3.client(service, endpoint_url=self.endpoint_url,
                            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
                            **_dummy_credentials())

    def _shared_client(self, service: str) -> Any:
        """The runtime's own client of ``service``, made once: the engine, the metrics
        and the alarms call many times a minute, and making a client costs tens of ms."""
        with self._clients_lock:  # boto3's default session is not safe across threads
            client = self._clients.get(service)
            if client is None:
                client = self._clients[service] = self.client(service)
            return client

    def up(self) -> None:
        terraform = Terraform(self.root / "terraform", self.dir / "terraform")  # checks first
        self._reset_dir()
        self.aws.start()
        try:
            self._point_process_at_stack()
            packages = packaging.build_all(self.root, self.root / "dist" / "lambda")
            variables = packaging.package_variables(packages)
            log.info("terraform apply against %s", self.endpoint_url)
            terraform.init()
            terraform.apply(LOCAL_VAR_FILE, variables)
            self.outputs = terraform.outputs()
            (self.dir / "outputs.json").write_text(json.dumps(self.outputs, indent=2))
            self._enforce_iam()
            # Each function in execution environments of its own, under its own role;
            # the pollers read its sources with the same role, as Lambda's do.
            sessions = RoleSessions(self.client("sts"), self.endpoint_url, LOCAL_REGION)
            self._runtime = FunctionRuntime(self.client("lambda"), self.dir / "code",
                                            max_concurrency=self.max_concurrency,
                                            log_dir=self.dir / "logs",
                                            endpoint_url=self.endpoint_url,
                                            credentials=sessions)
            self.engine = Engine(self._shared_client, self._runtime,
                                 role_clients=sessions.client, denials=self.denials)
            # Kinesis write limits per shard, on the engine's clock, for every producer.
            assert self.aws.kinesis_writes is not None
            self.aws.kinesis_writes.enable(self.engine.clock)
            attach_runtime(self._invoke_api)
            self.engine.start()
            assert self.engine.driver is not None
            self.engine.driver.add(StatusWriter(self.engine, self.dir))
            # DynamoDB's TTL deletions, as AWS makes them (moto makes none).
            self.engine.driver.add(TtlSweeper())
            # CloudWatch's part: the metrics AWS publishes, then the alarms on them.
            faults = self.aws.faults
            self.engine.driver.add(MetricsPublisher(
                self._shared_client, self.engine.invocation_log, log_dir=self.dir / "logs",
                throttle_events=faults.throttle_events if faults is not None else None,
                kinesis_puts=self.aws.kinesis_writes.puts))
            self.engine.driver.add(AlarmEvaluator(self._shared_client, region=LOCAL_REGION,
                                                  publish_refusal=self._alarm_publish_refusal))
            self._serve_http_api()
            self._write_stack_file()
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
        attach_runtime(None)
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        self.aws.stop()
        with self._clients_lock:
            self._clients.clear()  # a stack brought up again may listen elsewhere
        for name in ("stack.json", STATUS_FILE):
            with contextlib.suppress(FileNotFoundError):
                (self.dir / name).unlink()
        self._restore_process_env()

    def __enter__(self) -> LocalStack:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def wait_until_idle(self, timeout_s: float) -> None:
        assert self.engine is not None, "stack is not up"
        if not self.engine.wait_until_idle(timeout_s):
            raise ShardlineError(f"the stack did not drain within {timeout_s:.0f} s")

    def denials(self) -> list[Any]:
        """Calls the embedded AWS denied (IAM or KMS), oldest first."""
        layer = self.aws.authorization
        return layer.denials() if layer is not None else []

    # -- internals ---------------------------------------------------------------------
    def _alarm_publish_refusal(self, topic_arn: str, alarm_arn: str) -> str | None:
        """Why CloudWatch may not notify the topic, while IAM and KMS are enforced."""
        layer = self.aws.authorization
        if layer is None or not layer.enabled:
            return None
        return publish_refusal(topic_arn, alarm_arn, layer.key_policies)

    def _enforce_iam(self) -> None:
        """From now on every call is authorized by its caller's policies (AWS's rules);
        Terraform ran before, with the administrator's credentials."""
        if self.iam and self.aws.authorization is not None:
            self.aws.authorization.enable()
            log.info("IAM and KMS enforcement on (`--no-iam` switches it off)")

    def _invoke_api(self, function_arn: str, payload: bytes,
                    invocation_type: str) -> tuple[bytes, str | None]:
        """The Lambda Invoke API (sync, Event, DryRun), served by the engine."""
        assert self.engine is not None
        return self.engine.async_invoker.invoke_api(function_arn, payload, invocation_type)

    def _serve_http_api(self) -> None:
        """API Gateway's part: the HTTP API Terraform created, on localhost."""
        layer = self.aws.authorization
        self.api = serve_http_api(
            self.client("apigatewayv2"),
            lambda arn, payload: self._invoke_api(arn, payload, "RequestResponse"),
            account=LOCAL_ACCOUNT_ID, region=LOCAL_REGION,
            iam_enforced=lambda: layer is not None and layer.enabled,
            host=self.host, port=self.api_port)
        if self.api is not None:
            log.info("HTTP API on %s", self.api.url)

    @property
    def api_url(self) -> str | None:
        """Base URL of the local HTTP API (None: the stack has none)."""
        return self.api.url if self.api is not None else None

    def _reset_dir(self) -> None:
        for stale in ("code", "terraform/terraform.tfstate", "terraform/terraform.tfstate.backup"):
            path = self.dir / stale
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        self.dir.mkdir(parents=True, exist_ok=True)

    def _point_process_at_stack(self) -> None:
        """Point this process's AWS clients (and Terraform's) at the embedded endpoint, and
        have moto know AWS managed policies (``AWSLambdaBasicExecutionRole`` …), so that
        Terraform can attach them and the authorization layer evaluates them."""
        environment = {**self.aws.client_environment(),
                       "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
        for key, value in environment.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_process_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _write_stack_file(self) -> None:
        (self.dir / "stack.json").write_text(json.dumps(
            {"pid": os.getpid(), "endpoint_url": self.endpoint_url, "api_url": self.api_url,
             "started_at": time.time()}
        ))


def _dummy_credentials() -> dict[str, str]:
    return {"aws_access_key_id": "test", "aws_secret_access_key": "test",
            "region_name": "us-east-1"}


def read_stack_file(root: Path) -> dict[str, Any] | None:
    path = state_dir(root) / "stack.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def stop_detached(root: Path, timeout_s: float = 30.0) -> int | None:
    """Stop a detached ``local up``; return its pid, or None when none was running."""
    info = read_stack_file(root)
    if info is None:
        return None
    pid = int(info["pid"])
    if pid == os.getpid():
        raise ShardlineError("the local stack runs in this very process; stop it there")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        (state_dir(root) / "stack.json").unlink(missing_ok=True)
        return None
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        time.sleep(0.2)
    raise ShardlineError(f"local stack (pid {pid}) did not stop within {timeout_s:.0f} s")
