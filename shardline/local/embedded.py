"""The embedded AWS: moto's server in this process, with Lambda delivery owned by shardline.

moto shares its backends with everything in the process, so the runtime reads what
Terraform created through the public APIs (boto3 against the server) and reaches the
backends directly only where the API has no equivalent: a function's deployed code, and
the two hooks that moto would otherwise use to run Lambda code.

moto delivers to event source mappings by itself and consumes what it delivers (it
empties DynamoDB stream shards and receives SQS messages). ``disable_moto_delivery``
stops that: a new mapping is never registered with its source, so only shardline's
engine reads the stream. ``route_invocations`` sends every Invoke API call to the
runtime's executor instead of a Docker container.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shardline.errors import ShardlineError
from shardline.local import s3_policies, sns_delivery
from shardline.local.authorization import AuthorizationLayer
from shardline.local.embedded_attribute_values import serialize_attribute_values_directly
from shardline.local.embedded_consumers import complete_moto_consumer_api
from shardline.local.embedded_expressions import parse_update_expressions_once
from shardline.local.embedded_items import pack_items_at_rest
from shardline.local.embedded_memory import (
    pack_dynamodb_stream_records,
    pack_kinesis_record_data,
    track_model_instances_weakly,
)
from shardline.local.embedded_reshard import reshard_as_aws
from shardline.local.embedded_server import PooledWSGIServer
from shardline.local.embedded_spill import spill_dynamodb_stream_records, spill_to
from shardline.local.embedded_streams import (
    bound_kinesis_shards,
    expire_dynamodb_shard_iterators,
    query_reads_its_partition,
    trim_dynamodb_stream_records,
)
from shardline.local.embedded_ttl import record_service_deletions
from shardline.local.event_invoke_configs import complete_moto_event_invoke_configs
from shardline.local.fault_layer import FaultLayer
from shardline.local.function_api import complete_moto_function_api
from shardline.local.kinesis_writes import KinesisWriteLimits, silence_moto_stream_metrics
from shardline.local.mappings import complete_moto_mapping_api
from shardline.local.versions import as_invoked

DEFAULT_PORT = 4566
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_REGION = "us-east-1"

# What an Invoke returns: (payload bytes, function error type or None).
InvokeHook = Callable[[str, bytes, str], tuple[bytes, str | None]]

_patch_lock = threading.Lock()
_patched = False
_invoke_hook: InvokeHook | None = None


def ensure_port_free(host: str, port: int) -> None:
    """Fail with a one-line error when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ShardlineError(
                    f"port {port} on {host} is already in use; stop what holds it "
                    f"(`shardline local down`?) or pass --port"
                ) from None
            raise ShardlineError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _install_patches() -> None:
    """Patch moto once per process (idempotent)."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        from moto import backends

        # moto's server lists its own package folder on every request to route it; the
        # folder does not change while we run, so list it once (~10% of each API call).
        modules = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = lambda: modules
        _route_lambda_to_the_runtime()
        # Asynchronous invocation settings per version and alias, replaced by Put.
        complete_moto_event_invoke_configs()
        # EFO consumer ARNs as sources, StartingPositionTimestamp, and the
        # ParallelizationFactor/tumbling-window rule, as AWS's API has them.
        complete_moto_mapping_api()
        # Stream consumers: CREATING before ACTIVE, 20 per stream, unique names.
        complete_moto_consumer_api()
        # Reserved and malformed environment variables refused as AWS refuses them.
        complete_moto_function_api()
        _serialize_stream_appends()
        expire_dynamodb_shard_iterators()
        bound_kinesis_shards()
        # Splits and merges keep the parents' records; closed shards end; scaling limits.
        reshard_as_aws()
        query_reads_its_partition()
        # Attribute values written to JSON in one pass, not member by member.
        serialize_attribute_values_directly()
        # Update expressions parsed once per text (moto parsed each twice per request).
        parse_update_expressions_once()
        trim_dynamodb_stream_records()
        # What moto holds per object, cut to what a long-lived stack needs.
        track_model_instances_weakly()
        # Before packing: a TTL deletion's stream record is marked as it is built.
        record_service_deletions()
        pack_dynamodb_stream_records()
        pack_kinesis_record_data()
        pack_items_at_rest()
        spill_dynamodb_stream_records()
        # SNS → SQS deliveries pass the queue policy, as on AWS; bucket policies are
        # evaluated with their conditions.
        sns_delivery.install()
        s3_policies.install()
        _patched = True


def _route_lambda_to_the_runtime() -> None:
    """Invokes (direct and through the backend) run in shardline's runtime; a mapping
    created through the API is never delivered by moto itself."""
    from moto.awslambda import models as lambda_models

    backend_cls = lambda_models.LambdaBackend
    original_create = backend_cls.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        esm = original_create(self, spec)
        _unregister_from_source(esm)
        return esm

    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        return _run_hook(self.function_arn, body, request_headers, response_headers)

    def backend_invoke(self: Any, function_name: str, qualifier: str | None, body: Any,
                       request_headers: Any, response_headers: Any) -> Any:
        # The runtime gets what was invoked (an alias stays an alias, for its
        # weighted routing); moto would hand it the version the alias points to.
        function = self.get_function(function_name, qualifier)
        invoked = as_invoked(function.function_arn, function_name, qualifier)
        payload = _run_hook(invoked, body, request_headers, response_headers)
        response_headers["Content-Length"] = str(len(payload))
        return payload

    backend_cls.create_event_source_mapping = create_event_source_mapping
    lambda_models.LambdaFunction.invoke = invoke
    backend_cls.invoke = backend_invoke
    # Belt and braces: even a mapping registered some other way delivers nothing.
    backend_cls.send_kinesis_message = lambda self, *a, **k: None
    backend_cls.send_dynamodb_items = lambda self, *a, **k: None
    backend_cls.send_sqs_batch = lambda self, *a, **k: False


def _serialize_stream_appends() -> None:
    """Make moto's DynamoDB stream shard append atomic.

    moto numbers a stream record ``len(items) + first`` and then appends it, and reads by
    index from the sequence number. Two writes served on two server threads at once (a
    parallel ``batch_write``) can take the same number, after which a reader resuming at
    "last sequence number + 1" gets the same record back forever. One lock per process
    keeps number and position equal.
    """
    from moto.dynamodb.models.table import StreamShard

    original_add = StreamShard.add
    append_lock = threading.Lock()

    def add(self: Any, old: Any, new: Any) -> None:
        with append_lock:
            original_add(self, old, new)

    StreamShard.add = add


def _unregister_from_source(esm: Any) -> None:
    """Remove a new mapping from the dict moto's own delivery loops iterate."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends
    from moto.sqs.models import sqs_backends

    arn: str = esm.event_source_arn
    account, region = arn.split(":")[4], arn.split(":")[3]
    service = arn.split(":")[2]
    if service == "kinesis":
        for stream in kinesis_backends[account][region].streams.values():
            stream.lambda_event_source_mappings.pop(arn, None)
    elif service == "dynamodb":
        for table in dynamodb_backends[account][region].tables.values():
            table.lambda_event_source_mappings.pop(esm.function_arn, None)
    elif service == "sqs":
        for queue in sqs_backends[account][region].queues.values():
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)


def _run_hook(function_arn: str, body: Any, request_headers: Any,
              response_headers: Any) -> bytes:
    hook = _invoke_hook
    if hook is None:
        raise RuntimeError("no shardline runtime is attached to the embedded AWS")
    payload = body if isinstance(body, bytes) else (body or "").encode()
    invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    result, function_error = hook(function_arn, payload, invocation_type)
    if function_error:
        response_headers["x-amz-function-error"] = "Unhandled"
    return result if invocation_type == "RequestResponse" else b""


def attach_runtime(hook: InvokeHook | None) -> None:
    """Route the Invoke API to ``hook`` (``None`` detaches)."""
    global _invoke_hook
    _install_patches()
    _invoke_hook = hook


def function_code(function_arn: str) -> bytes:
    """The zip that was deployed for a function (what Terraform uploaded); for a
    qualified ARN, the code of that version."""
    from moto.awslambda.models import lambda_backends

    parts = function_arn.split(":")
    account, region = parts[4], parts[3]
    function = lambda_backends[account][region].get_function(function_arn, None)
    return bytes(function.code_bytes)


@dataclass
class EmbeddedAws:
    """moto's server on ``host:port`` inside this process (``port=0``: any free port,
    known once started), behind the authorization layer (``authorization``: IAM and KMS,
    off until enabled), the fault layer (``faults``) and the Kinesis write limits
    (``kinesis_writes``, off until enabled). DynamoDB stream records and items'
    attributes are kept on disk in ``state_dir`` (else a temporary directory;
    ``embedded_spill``)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    state_dir: Path | None = None
    faults: FaultLayer | None = None  # DynamoDB fault rules and the write meter, once started
    authorization: AuthorizationLayer | None = None  # IAM/KMS enforcement, once started
    # Kinesis write limits per shard (off until enabled) and the log of puts, once started
    kinesis_writes: KinesisWriteLimits | None = None
    _server: Any = None
    _thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        if self.port:
            ensure_port_free(self.host, self.port)
        spill_to(self.state_dir)
        _install_patches()
        # moto's server logs every request through werkzeug; that is noise here.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto's ThreadedMotoServer (its request threads reused: embedded_server), with the
        # fault layer in front of its app and the authorization layer in front of both (AWS
        # authorizes before it throttles).
        silence_moto_stream_metrics()
        self.kinesis_writes = KinesisWriteLimits(
            DomainDispatcherApplication(create_backend_app), LOCAL_ACCOUNT_ID)
        self.faults = FaultLayer(self.kinesis_writes)
        self.authorization = AuthorizationLayer(self.faults, LOCAL_ACCOUNT_ID)
        sns_delivery.add_gate(self.authorization.sns_delivery_refusal)
        self._server = PooledWSGIServer(self.host, self.port, self.authorization,
                                        handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="embedded-aws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.shutdown()
                self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
            self._thread = None
        if self.authorization is not None:
            self.authorization.disable()
            self.authorization.reset()
            sns_delivery.remove_gate(self.authorization.sns_delivery_refusal)
        if self.kinesis_writes is not None:
            self.kinesis_writes.disable()
        reset_backends()

    def client_environment(self) -> dict[str, str]:
        """Environment that points boto3, the aws CLI and Terraform at this endpoint."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "test",
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
        }


def reset_backends() -> None:
    """Forget every resource (a fresh embedded AWS for the next start)."""
    from moto.moto_api._internal import moto_api_backend

    moto_api_backend.reset()
