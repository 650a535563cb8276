"""A fresh embedded AWS plus the ESM engine on a virtual clock, for conformance tests.

Everything is created through the AWS APIs, as Terraform would: functions from real
zips (handler source given inline), streams, queues, mappings. The engine discovers them
like it does in ``shardline local up``; ``advance(seconds)`` moves virtual time.
"""

from __future__ import annotations

import base64
import io
import json
import textwrap
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from shardline.local.embedded import EmbeddedAws, attach_runtime
from shardline.local.engine import Engine
from shardline.local.functions import FunctionRuntime
from shardline.local.scheduling import DeterministicDriver, VirtualClock
from tests.conformance import recorder

ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})

# Prepended to every handler: ``seen(event)`` records the event under the function's name.
PRELUDE = """
import base64, json, os
from tests.conformance import recorder

def seen(event):
    recorder.record(os.environ["AWS_LAMBDA_FUNCTION_NAME"], event)

def sequence_numbers(event):
    return [r["kinesis"]["sequenceNumber"] for r in event.get("Records", [])]

def payloads(event):
    return [base64.b64decode(r["kinesis"]["data"]).decode() for r in event.get("Records", [])]
"""


@dataclass
class Harness:
    aws: EmbeddedAws
    work_dir: Path
    clock: VirtualClock = field(default_factory=VirtualClock)
    state_cap_bytes: int | None = None
    engine: Engine = field(init=False)
    runtime: FunctionRuntime = field(init=False)
    _role: str = ""

    def __post_init__(self) -> None:
        self.runtime = FunctionRuntime(self.client("lambda"), self.work_dir / "code")
        kwargs: dict[str, Any] = {}
        if self.state_cap_bytes is not None:
            kwargs["state_cap_bytes"] = self.state_cap_bytes
        self.engine = Engine(self.client, self.runtime, clock=self.clock,
                             driver=DeterministicDriver(self.clock), **kwargs)
        attach_runtime(self._invoke_api)
        self._role = self.client("iam").create_role(
            RoleName="conformance", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        recorder.reset()

    def _invoke_api(self, function_arn: str, payload: bytes,
                    invocation_type: str) -> tuple[bytes, str | None]:
        result = self.runtime.invoke(function_arn, json.loads(payload or b"{}"))
        return json.dumps(result.payload).encode(), result.function_error

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws.endpoint_url,
                            region_name="us-east-1", aws_access_key_id="test",
                            aws_secret_access_key="test")

    # -- resources, through the APIs ---------------------------------------------------
    def function(self, name: str, body: str, *, timeout: int = 3,
                 environment: dict[str, str] | None = None) -> str:
        """Create a function whose module is PRELUDE + ``body`` (defining lambda_handler)."""
        package = f"conf_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        source = PRELUDE + textwrap.dedent(body)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{package}/__init__.py", "")
            archive.writestr(f"{package}/handler.py", source)
        response = self.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=self._role,
            Handler=f"{package}.handler.lambda_handler", Code={"ZipFile": buffer.getvalue()},
            Timeout=timeout, Environment={"Variables": environment or {}},
        )
        return str(response["FunctionArn"])

    def stream(self, name: str, shards: int = 1) -> str:
        kinesis = self.client("kinesis")
        kinesis.create_stream(StreamName=name, ShardCount=shards)
        return str(kinesis.describe_stream_summary(StreamName=name)
                   ["StreamDescriptionSummary"]["StreamARN"])

    def queue(self, name: str, **attributes: str) -> tuple[str, str]:
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def map(self, source_arn: str, function: str, **settings: Any) -> str:
        settings.setdefault("StartingPosition", "TRIM_HORIZON")
        response = self.client("lambda").create_event_source_mapping(
            EventSourceArn=source_arn, FunctionName=function, **settings)
        return str(response["UUID"])

    def put(self, stream_arn: str, payloads: list[str], partition_key: str = "pk") -> list[str]:
        """Put records one by one (in order); return their sequence numbers."""
        kinesis = self.client("kinesis")
        return [kinesis.put_record(StreamARN=stream_arn, Data=p.encode(),
                                   PartitionKey=partition_key)["SequenceNumber"]
                for p in payloads]

    def messages(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message body in the queue, JSON-decoded, oldest first (consumed)."""
        sqs = self.client("sqs")
        bodies: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            messages = batch.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    # -- time --------------------------------------------------------------------------
    def start(self) -> None:
        self.engine.start()

    def advance(self, seconds: float) -> None:
        self.engine.advance(seconds)

    def seen(self, function: str) -> list[dict[str, Any]]:
        return recorder.calls[function]

    def close(self) -> None:
        self.engine.stop()
        attach_runtime(None)
        self.runtime.close()


def decode(record: dict[str, Any]) -> str:
    return base64.b64decode(record["kinesis"]["data"]).decode()
