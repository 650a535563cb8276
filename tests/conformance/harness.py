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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from shardline.local.async_invoke import AsyncInvoker, FunctionInvocation
from shardline.local.credentials import RoleSessions
from shardline.local.embedded import EmbeddedAws, attach_runtime
from shardline.local.engine import Engine
from shardline.local.functions import FunctionRuntime
from shardline.local.schedules import ScheduleRunner
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

_CLIENTS: dict[tuple[str, str], Any] = {}


@dataclass
class Harness:
    aws: EmbeddedAws
    work_dir: Path
    clock: VirtualClock = field(default_factory=VirtualClock)
    state_cap_bytes: int | None = None
    # "thread": handlers run in this process and record what they see (``seen``);
    # "process": in execution environments under their role, as in ``local up``.
    isolation: str = "thread"
    # Enforce IAM/KMS (off unless a test asks): pollers then read with the function's role.
    iam: bool = False
    engine: Engine = field(init=False)
    runtime: FunctionRuntime = field(init=False)
    invoker: AsyncInvoker = field(init=False)
    schedules: ScheduleRunner = field(init=False)
    _role: str = ""
    _unstamp: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        sessions = RoleSessions(self.client("sts"), self.aws.endpoint_url, "us-east-1")
        self.runtime = FunctionRuntime(
            self.client("lambda"), self.work_dir / "code", isolation=self.isolation,  # type: ignore[arg-type]
            log_dir=self.work_dir / "logs", endpoint_url=self.aws.endpoint_url,
            credentials=sessions, routing_seed=1)
        kwargs: dict[str, Any] = {}
        if self.state_cap_bytes is not None:
            kwargs["state_cap_bytes"] = self.state_cap_bytes
        if self.iam:
            kwargs["role_clients"] = sessions.client
        self.engine = Engine(self.client, self.runtime, clock=self.clock,
                             driver=DeterministicDriver(self.clock), **kwargs)
        self.invoker = self.engine.async_invoker
        self.schedules = self.engine.schedules
        attach_runtime(self._invoke_api)
        self._unstamp = stamp_stream_records(self.clock)
        self._role = self.client("iam").create_role(
            RoleName="conformance", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        if self.iam:
            assert self.aws.authorization is not None
            self.aws.authorization.enable()
        recorder.reset()

    def _invoke_api(self, function_arn: str, payload: bytes,
                    invocation_type: str) -> tuple[bytes, str | None]:
        """The Lambda Invoke API: RequestResponse, Event (queued) and DryRun."""
        return self.invoker.invoke_api(function_arn, payload, invocation_type)

    def client(self, service: str) -> Any:
        """One client per service and endpoint, shared by every test (boto3 clients are
        thread-safe, and creating one costs more than most API calls)."""
        key = (self.aws.endpoint_url, service)
        if key not in _CLIENTS:
            _CLIENTS[key] = boto3.client(
                service, endpoint_url=self.aws.endpoint_url, region_name="us-east-1",
                aws_access_key_id="test", aws_secret_access_key="test")
        return _CLIENTS[key]

    # -- resources, through the APIs ---------------------------------------------------
    def function(self, name: str, body: str, *, timeout: int = 3,
                 environment: dict[str, str] | None = None, prelude: bool = True,
                 **settings: Any) -> str:
        """Create a function whose module is PRELUDE + ``body`` (defining lambda_handler);
        without the prelude (it records in this process) for process isolation."""
        package = f"conf_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        source = (PRELUDE if prelude else "") + textwrap.dedent(body)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{package}/__init__.py", "")
            archive.writestr(f"{package}/handler.py", source)
        response = self.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=self._role,
            Handler=f"{package}.handler.lambda_handler", Code={"ZipFile": buffer.getvalue()},
            Timeout=timeout, Environment={"Variables": environment or {}}, **settings,
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

    # -- stream sources ----------------------------------------------------------------
    def table_with_stream(self, name: str, view_type: str = "NEW_AND_OLD_IMAGES",
                          sort_key: str | None = None) -> str:
        """A table keyed by ``pk`` (string; ``sort_key`` too if given) with a stream;
        return the stream's ARN."""
        keys = [("pk", "HASH")] + ([(sort_key, "RANGE")] if sort_key else [])
        response = self.client("dynamodb").create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
            KeySchema=[{"AttributeName": k, "KeyType": kind} for k, kind in keys],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type})
        return str(response["TableDescription"]["LatestStreamArn"])

    def stream_consumer(self, stream_arn: str, name: str) -> str:
        """Register an enhanced fan-out consumer on the stream; return its ARN."""
        response = self.client("kinesis").register_stream_consumer(
            StreamARN=stream_arn, ConsumerName=name)
        return str(response["Consumer"]["ConsumerARN"])

    # -- time --------------------------------------------------------------------------
    def start(self) -> None:
        self.engine.start()

    def advance(self, seconds: float) -> None:
        self.engine.advance(seconds)

    def seen(self, function: str) -> list[dict[str, Any]]:
        return recorder.calls[function]

    def grant(self, *statements: dict[str, Any]) -> None:
        """Replace the functions' role policy (``iam=True`` harnesses)."""
        self.client("iam").put_role_policy(
            RoleName="conformance", PolicyName="access",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))

    def close(self) -> None:
        if self.iam and self.aws.authorization is not None:
            self.aws.authorization.disable()
        self._unstamp()
        self.engine.stop()
        attach_runtime(None)
        self.runtime.close()

    # -- SQS sources -------------------------------------------------------------------
    @property
    def sqs(self) -> Any:
        """One SQS client for the helpers below (a new boto3 client costs ~20 ms)."""
        if getattr(self, "_sqs", None) is None:
            self._sqs = self.client("sqs")
        return self._sqs

    def map_queue(self, queue_arn: str, function: str, **settings: Any) -> str:
        """An SQS event source mapping (queues take no StartingPosition)."""
        response = self.client("lambda").create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName=function, **settings)
        return str(response["UUID"])

    def send(self, queue_url: str, bodies: list[str], **fields: Any) -> list[str]:
        """Send one message per body, in order, each with ``fields`` (MessageGroupId,
        MessageAttributes, ...); return their message ids."""
        return [str(self.sqs.send_message(QueueUrl=queue_url, MessageBody=body, **fields)
                    ["MessageId"]) for body in bodies]

    def queue_counts(self, queue_url: str) -> dict[str, int]:
        """Messages ready to be received and messages in flight (received, not deleted)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                                "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {"visible": int(attributes["ApproximateNumberOfMessages"]),
                "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"])}

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Every visible message as ReceiveMessage returns it, oldest first (consumed)."""
        drained: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"]).get("Messages", [])
            if not messages:
                return drained
            for message in messages:
                drained.append(message)
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    # -- Invoke API, destinations, schedules -------------------------------------------
    def invocations(self, function: str) -> list[FunctionInvocation]:
        """The invocation log's entries for ``function`` outside stream mappings, in order."""
        return [entry for entry in self.engine.invocation_log
                if isinstance(entry, FunctionInvocation)
                and entry.function.rsplit(":", 1)[-1] == function]

    def topic(self, name: str) -> str:
        return str(self.client("sns").create_topic(Name=name)["TopicArn"])

    def subscribe(self, topic_arn: str, queue_arn: str) -> None:
        """Deliver a topic's messages to a queue, raw (the body is the message itself)."""
        self.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                                     Attributes={"RawMessageDelivery": "true"})

    def schedule(self, name: str, expression: str, target_arn: str, **target: Any) -> str:
        """A scheduled rule on the default bus with one target; return the rule's ARN."""
        events = self.client("events")
        arn = events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
        events.put_targets(Rule=name, Targets=[{"Id": "1", "Arn": target_arn, **target}])
        return str(arn)


def stamp_stream_records(clock: VirtualClock) -> Callable[[], None]:
    """Stamp Kinesis records (ApproximateArrivalTimestamp) and DynamoDB stream records
    (ApproximateCreationDateTime) with the virtual clock, so record ages and tumbling
    windows follow virtual time; return the function that undoes it."""
    from moto.dynamodb.models import table
    from moto.kinesis import models

    originals = (models.utcnow, table.utcnow)

    def virtual_utcnow() -> datetime:
        return datetime.fromtimestamp(clock.now(), tz=UTC).replace(tzinfo=None)

    models.utcnow = table.utcnow = virtual_utcnow

    def restore() -> None:
        models.utcnow, table.utcnow = originals

    return restore


def decode(record: dict[str, Any]) -> str:
    return base64.b64decode(record["kinesis"]["data"]).decode()
