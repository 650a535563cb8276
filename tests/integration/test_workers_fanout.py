"""The fanout path on the embedded stack: Kinesis → EFO consumer → dispatcher → async
Invoke → device-state worker → DynamoDB, compared exactly with what the producer sent;
a re-delivered payload changes nothing; a worker that errors sends its event to its own
failure queue; a dispatcher without lambda:InvokeFunction hands nothing off; readings
over a threshold raise an alert on the alerts queue (through the SSE-KMS topic) and are
archived in the SSE-KMS bucket."""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Iterable
from typing import Any

import msgspec
from click.testing import CliRunner

from lambdas.shared.dynamo import read_items
from lambdas.shared.telemetry import TelemetryV1, encode, new_v1
from producers.fleet import FleetConfig, generate
from producers.publisher import KinesisPublisher, PutEntry
from shardline.cli import main
from shardline.local.stack import LocalStack
from tests.factories.fanout import dispatcher_payload
from tests.integration.stack_ops import role_arn, until, without_action

SETTLES_S = 60  # records reach the dispatcher ~70 ms after they arrive; async events run at once


def _fleet(prefix: str, *, devices: int = 6, seed: int = 41) -> list[TelemetryV1]:
    """A small fleet's readings (3 metrics each), under device ids no other test uses."""
    config = FleetConfig(devices=devices, rate_hz=2.0, duration_s=5, seed=seed,
                         start_ms=int(time.time() * 1000) - 10_000)
    return [msgspec.structs.replace(record, device_id=f"{prefix}-{record.device_id}")
            for _, record in generate(config)]


def _publish(stack: LocalStack, records: Iterable[TelemetryV1]) -> None:
    publisher = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
    publisher.publish([PutEntry(r.device_id, encode(r), r) for r in records])


def _latest(records: Iterable[TelemetryV1]) -> dict[str, TelemetryV1]:
    newest: dict[str, TelemetryV1] = {}
    for record in records:
        held = newest.get(record.device_id)
        if held is None or (record.ts, record.seq) > (held.ts, held.seq):
            newest[record.device_id] = record
    return newest


def _state(stack: LocalStack, prefix: str) -> dict[str, dict[str, Any]]:
    """device -> {"ts_ms", "seq", "site", metric: value} from the device-state table."""
    state: dict[str, dict[str, Any]] = {}
    for item in read_items(stack.client("dynamodb"), "scan",
                           TableName=str(stack.outputs["device_state_table_name"]),
                           ConsistentRead=True):
        if not str(item["device_id"]).startswith(prefix):
            continue
        device = state.setdefault(str(item["device_id"]), {})
        if item["SK"] == "STATE":
            device.update(ts_ms=int(item["ts_ms"]), seq=int(item["seq"]), site=item["site"])
        else:
            device[str(item["metric"])] = item["value"]
    return state


def _expected(records: Iterable[TelemetryV1]) -> dict[str, dict[str, Any]]:
    return {device: {"ts_ms": r.ts, "seq": r.seq, "site": r.site, **r.metrics}
            for device, r in _latest(records).items()}


def test_device_state_holds_each_devices_latest_readings(stack: LocalStack) -> None:
    # GIVEN a small fleet's readings put on the stream
    records = _fleet("fan")
    # WHEN the stack carries them through the dispatcher to the device-state worker
    _publish(stack, records)
    expected = _expected(records)
    # THEN the table holds exactly each device's newest reading, every metric's value as
    # the device wrote it
    assert until(lambda: _state(stack, "fan-") == expected, SETTLES_S), \
        (_state(stack, "fan-"), expected)
    # AND `shardline devices` shows them online with those values
    result = CliRunner().invoke(main, [
        "devices", "--format", "json", "--endpoint", stack.endpoint_url,
        "--table", str(stack.outputs["device_state_table_name"])])
    assert result.exit_code == 0, result.output
    shown = {row["device"]: row for row in json.loads(result.stdout)
             if row["device"].startswith("fan-")}
    assert set(shown) == set(expected)
    for device, row in shown.items():
        assert row["status"] == "online"
        assert row["temperature_c"] == str(expected[device]["temperature_c"])


def test_a_redelivered_payload_changes_nothing(stack: LocalStack) -> None:
    # GIVEN devices whose newest readings are applied
    records = _fleet("dup", devices=3, seed=43)
    _publish(stack, records)
    expected = _expected(records)
    assert until(lambda: _state(stack, "dup-") == expected, SETTLES_S)
    # WHEN every reading is delivered to the worker again, twice, newest first
    payload = json.dumps(dispatcher_payload(list(reversed(records)))).encode()
    client = stack.client("lambda")
    for _ in range(2):
        response = client.invoke(FunctionName=str(stack.outputs["device_state_function_name"]),
                                 Payload=payload)
        assert "FunctionError" not in response, response["Payload"].read()
    # THEN the state is unchanged
    assert _state(stack, "dup-") == expected


def _failure_messages(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = stack.outputs["worker_failure_queues"]["device_state"]["url"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def _devices_in(record: dict[str, Any]) -> set[str]:
    return {json.loads(base64.b64decode(r["data"]))["device_id"]
            for r in record["requestPayload"]["records"]}


def test_a_record_for_a_worker_that_errors_ends_in_its_failure_queue(stack: LocalStack) -> None:
    # GIVEN the device-state worker failing (its role without dynamodb:UpdateItem) and,
    # for this drill, no async retries (they would wait 1 and 2 minutes)
    client = stack.client("lambda")
    worker = str(stack.outputs["device_state_function_name"])
    live = f"{worker}:live"  # the dispatcher invokes the alias: its async settings apply
    before = {key: value for key, value in
              client.get_function_event_invoke_config(FunctionName=live).items()
              if key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")}
    assert before["DestinationConfig"]["OnFailure"]["Destination"] == \
        stack.outputs["worker_failure_queues"]["device_state"]["arn"]
    client.put_function_event_invoke_config(FunctionName=live,
                                            **{**before, "MaximumRetryAttempts": 0})
    failed: list[dict[str, Any]] = []
    try:
        with without_action(stack, role_arn(stack, "device_state_function_name"),
                            "dynamodb:UpdateItem"):
            # WHEN a reading reaches it through the dispatcher
            reading = _fleet("err", devices=1, seed=47)[0]
            _publish(stack, [reading])

            def arrived() -> bool:
                failed.extend(_failure_messages(stack))
                return any(reading.device_id in _devices_in(r) for r in failed)

            # THEN the event lands in the worker's own failure queue, payload included
            assert until(arrived, SETTLES_S)
    finally:
        client.put_function_event_invoke_config(FunctionName=live, **before)
    record = next(r for r in failed if reading.device_id in _devices_in(r))
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["functionArn"].startswith(
        str(stack.outputs["device_state_function_arn"]))
    assert record["requestPayload"]["source"] == "shardline.dispatcher"


def test_a_dispatcher_without_invoke_permission_hands_nothing_off(stack: LocalStack) -> None:
    # GIVEN the dispatcher's role without lambda:InvokeFunction
    records = _fleet("iam", devices=2, seed=53)
    with without_action(stack, role_arn(stack, "dispatcher_function_name"),
                        "lambda:InvokeFunction"):
        # WHEN readings arrive
        _publish(stack, records)
        # THEN its Invokes are denied, as on AWS, and no state is written
        assert until(lambda: any(d.action == "lambda:InvokeFunction"
                                 for d in stack.denials()), SETTLES_S)
        assert _state(stack, "iam-") == {}
    # AND once it may invoke again, the retried records arrive
    assert until(lambda: _state(stack, "iam-") == _expected(records), SETTLES_S)


def _alerts(stack: LocalStack) -> list[dict[str, Any]]:
    """Alerts on the alerts queue (raw delivery: each body is the alert's JSON), deleted."""
    sqs, url = stack.client("sqs"), str(stack.outputs["alerts_queue_url"])
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   MessageAttributeNames=["All"]).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [{**json.loads(m["Body"]), "attributes": {
        name: value["StringValue"] for name, value in m.get("MessageAttributes", {}).items()}}
        for m in messages]


def _archived_lines(stack: LocalStack) -> list[dict[str, Any]]:
    s3, bucket = stack.client("s3"), str(stack.outputs["archive_bucket_name"])
    lines: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            lines += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    return lines


def test_readings_over_a_threshold_raise_an_alert_and_are_archived(stack: LocalStack) -> None:
    # GIVEN three consecutive readings of one device over the default overheat rule
    # (temperature_c > 80 for 3)
    began = time.time()
    start = int(began * 1000) - 5_000
    readings = [new_v1("hot-dev-00001", "plant-a", start + i * 1000, i + 1,
                       {"temperature_c": 85 + i, "battery_v": 3.7}) for i in range(3)]
    # WHEN they go through the stream, the dispatcher and the workers
    _publish(stack, readings)
    alerts: list[dict[str, Any]] = []

    def raised() -> bool:
        alerts.extend(_alerts(stack))
        return any(a["device"] == "hot-dev-00001" for a in alerts)

    # THEN one overheat alert is raised on the alerts queue, with its attributes
    assert until(raised, SETTLES_S), stack.denials()
    alert = next(a for a in alerts if a["device"] == "hot-dev-00001")
    assert (alert["event"], alert["rule"], alert["severity"]) == ("raised", "overheat",
                                                                  "critical")
    assert alert["attributes"]["device"] == "hot-dev-00001"
    # AND the readings are archived, each once
    assert until(lambda: sum(line["device_id"] == "hot-dev-00001"
                             for line in _archived_lines(stack)) == 3, SETTLES_S), \
        (_archived_lines(stack), stack.denials())
    # AND no call of the workers was refused
    assert not [d for d in stack.denials() if d.at >= began
                and ("alerts" in d.caller or "archive" in d.caller)]
