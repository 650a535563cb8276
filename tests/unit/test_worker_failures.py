"""`shardline dlq --worker`: a fanout worker's failed asynchronous events (Lambda's
invocation records) listed and replayed by invoking the worker with the event it got."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from lambdas.device_state import config as state_config
from lambdas.device_state import repository as state_repository
from lambdas.device_state.handler import lambda_handler as device_state_handler
from shardline import devices
from shardline.cli import main
from shardline.errors import ShardlineError
from shardline.worker_failures import (
    WorkerFailureQueue,
    invoke_request,
    invoke_target,
    parse_worker_failure,
    replay_worker_failures,
)
from tests.factories.dynamodb import create_aggregates_table
from tests.factories.fanout import dispatcher_payload
from tests.factories.kinesis import lambda_context
from tests.factories.telemetry import telemetry_record
from tests.factories.worker_failures import WORKER_ARN, invocation_record

QUEUE = "shardline-device-state-failures"
TABLE = "shardline-device-state-replay"


def parse(record: dict[str, Any]):
    return parse_worker_failure(json.dumps(record), queue="failures", queue_url="u",
                                message_id="m-1", receipt_handle="h-1")


def test_an_invocation_record_is_parsed_with_its_payload_and_error() -> None:
    # GIVEN the record Lambda sends when it gives up on one dispatcher payload
    payload = dispatcher_payload([telemetry_record("dev-1", seq=1)])
    failure = parse(invocation_record(payload, invoke_count=3))
    # THEN the row names the function, why it failed, and how many records it carried
    assert failure.request_payload == payload
    assert failure.as_row() == {
        "when": "2025-11-23T12:14:00.000Z", "queue": "failures",
        "function": "shardline-device-state", "condition": "RetriesExhausted",
        "invoke_count": 3, "records": 1, "error": "table is throttled", "request_id": "req-1"}


def test_the_replay_request_invokes_the_function_that_failed_with_its_payload() -> None:
    payload = dispatcher_payload([telemetry_record("dev-1", seq=1)])
    failure = parse(invocation_record(payload))
    # WHEN mapped to an Invoke request THEN $LATEST is dropped, the payload is the event
    request = invoke_request(failure)
    assert request["FunctionName"] == WORKER_ARN
    assert request["InvocationType"] == "RequestResponse"
    assert json.loads(request["Payload"]) == payload
    # AND --function and --async override the target and the invocation type
    assert invoke_request(failure, function="other", asynchronous=True)[
        "InvocationType"] == "Event"
    assert invoke_target(f"{WORKER_ARN}:live") == f"{WORKER_ARN}:live"


@pytest.mark.parametrize(("body", "fragment"), [
    ("not json", "not an invocation record"),
    (json.dumps({"timestamp": "t"}), "has no requestContext"),
    (json.dumps({"requestContext": {}, "KinesisBatchInfo": {}}), "stream failed batch"),
])
def test_records_of_another_kind_are_one_line_errors(body: str, fragment: str) -> None:
    with pytest.raises(ShardlineError, match=fragment):
        parse_worker_failure(body, queue="failures", queue_url="u", message_id="m",
                             receipt_handle="h")


def test_a_record_without_its_payload_cannot_be_replayed() -> None:
    failure = parse(invocation_record(None, with_payload=False))
    with pytest.raises(ShardlineError, match="carries no requestPayload"):
        invoke_request(failure)


class InProcessWorker:
    """The Lambda Invoke API's shape over a worker's handler (functions cannot run in moto
    without Docker): RequestResponse runs it and reports a function error; Event runs it
    and answers 202."""

    def __init__(self, handler: Callable[[dict, Any], Any]) -> None:
        self.handler, self.calls = handler, []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        self.calls.append((FunctionName, InvocationType))
        try:
            result = self.handler(json.loads(Payload), lambda_context("device-state"))
        except Exception as exc:
            body = json.dumps({"errorMessage": str(exc)}).encode()
            return {"StatusCode": 200, "FunctionError": "Unhandled",
                    "Payload": io.BytesIO(body)}
        if InvocationType == "Event":
            return {"StatusCode": 202, "Payload": io.BytesIO(b"")}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """moto: the device-state table and the worker's failure queue, named by the outputs."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("DEVICE_STATE_TABLE", TABLE)
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path))
    state_config.get_config.cache_clear()
    state_repository.default_repository.cache_clear()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_aggregates_table(dynamodb, TABLE)
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        (tmp_path / "outputs.json").write_text(json.dumps({"worker_failure_queues": {
            "device_state": {"name": QUEUE, "url": url, "arn": f"arn:aws:sqs:::{QUEUE}"}}}))
        yield {"dynamodb": dynamodb, "sqs": sqs, "url": url}
    state_config.get_config.cache_clear()
    state_repository.default_repository.cache_clear()


def queued(aws) -> int:
    return int(aws["sqs"].get_queue_attributes(QueueUrl=aws["url"], AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])


def fail_event(aws, records, request_id: str) -> None:
    record = invocation_record(dispatcher_payload(records), request_id=request_id)
    aws["sqs"].send_message(QueueUrl=aws["url"], MessageBody=json.dumps(record))


def test_replay_applies_the_events_and_dequeues_them(aws) -> None:
    # GIVEN two events the device-state worker gave up on
    fail_event(aws, [telemetry_record("dev-1", seq=1)], "req-1")
    fail_event(aws, [telemetry_record("dev-2", seq=1)], "req-2")
    worker = InProcessWorker(device_state_handler)
    # WHEN replayed (twice: the second finds nothing)
    replayed = replay_worker_failures(WorkerFailureQueue(aws["sqs"], QUEUE), worker)
    # THEN the worker applied both, each through the function that failed, and the queue
    # is empty
    assert sorted(f.request_id for f in replayed) == ["req-1", "req-2"]
    assert set(worker.calls) == {(WORKER_ARN, "RequestResponse")}
    states = devices.DeviceStateReader(TABLE, aws["dynamodb"]).states()
    assert [s.device_id for s in states] == ["dev-1", "dev-2"] and queued(aws) == 0
    with pytest.raises(ShardlineError, match="no failed events are queued"):
        replay_worker_failures(WorkerFailureQueue(aws["sqs"], QUEUE), worker)


def test_a_replay_that_fails_again_stays_queued(aws) -> None:
    fail_event(aws, [telemetry_record("dev-1", seq=1)], "req-1")

    def broken(event: dict, context: Any) -> None:
        raise RuntimeError("still throttled")

    with pytest.raises(ShardlineError, match=r"function error replaying req-1.*still throttled"):
        replay_worker_failures(WorkerFailureQueue(aws["sqs"], QUEUE), InProcessWorker(broken))
    assert queued(aws) == 1


def test_the_commands_list_a_workers_queue_and_every_queue(aws) -> None:
    fail_event(aws, [telemetry_record("dev-1", seq=1)], "req-1")
    aws["sqs"].create_queue(QueueName="shardline-stream-failures")
    # WHEN the worker's queue is listed THEN its failed event, left in the queue
    listed = CliRunner().invoke(main, ["dlq", "list", "--worker", "device_state",
                                       "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [row["request_id"] for row in json.loads(listed.stdout)] == ["req-1"]
    assert queued(aws) == 1
    # AND --all lists the stream queue (fallback name) and the worker's, with depths
    every = CliRunner().invoke(main, ["dlq", "list", "--all", "--format", "json"])
    assert every.exit_code == 0, every.output
    assert [(r["kind"], r["queue"], r["messages"]) for r in json.loads(every.stdout)] == [
        ("stream", "shardline-stream-failures", 0), ("device_state", QUEUE, 1)]


def test_a_replay_through_a_missing_function_is_one_line_and_keeps_the_event(aws) -> None:
    fail_event(aws, [telemetry_record("dev-1", seq=1)], "req-1")
    result = CliRunner().invoke(main, ["dlq", "replay", "--worker", "device_state", "--yes"])
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not found" in lines[0] and "shardline-device-state" in lines[0]
    assert queued(aws) == 1


@pytest.mark.parametrize(("args", "fragment"), [
    (["dlq", "list", "--worker", "alerts"], "unknown worker 'alerts'"),
    (["dlq", "list", "--worker", "device_state", "--queue", "q"], "not both"),
    (["dlq", "list", "--all", "--worker", "device_state"], "drop --queue/--worker"),
    (["dlq", "replay", "--async", "--yes"], "add --worker"),
])
def test_bad_dlq_options_are_one_line_errors(aws, args, fragment) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0]


def test_an_asynchronous_replay_dequeues_once_lambda_accepted_the_event(aws) -> None:
    fail_event(aws, [telemetry_record("dev-1", seq=1)], "req-1")
    worker = InProcessWorker(device_state_handler)
    replay_worker_failures(WorkerFailureQueue(aws["sqs"], QUEUE), worker, asynchronous=True)
    assert worker.calls == [(WORKER_ARN, "Event")] and queued(aws) == 0


def test_a_workers_queue_named_with_queue_is_read_as_a_workers(aws) -> None:
    # GIVEN a worker failure in the queue the outputs list for device_state
    fail_event(aws, [telemetry_record("dev-1", seq=1)], "req-1")
    # WHEN it is listed by its queue name THEN it is parsed as a worker failure record
    listed = CliRunner().invoke(main, ["dlq", "list", "--queue", QUEUE, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["function"] == "shardline-device-state"
