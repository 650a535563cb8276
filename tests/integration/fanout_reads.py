"""What the fanout tests put on the stream and read back from the workers' outputs: a
prefixed fleet, the alerts on the subscription queue, the archive's lines, and the
episodes a rule should raise, computed independently of the alerts worker."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable
from typing import Any

import msgspec

from lambdas.alerts.config import Rule, parse_rules
from lambdas.shared.telemetry import TelemetryV1, encode
from producers.anomalies import Anomaly
from producers.fleet import FleetConfig, generate
from producers.publisher import KinesisPublisher, PutEntry
from shardline.local.stack import LocalStack


def fleet(prefix: str, *, devices: int = 6, seed: int = 41, duration_s: float = 5,
          anomalies: tuple[Anomaly, ...] = ()) -> list[TelemetryV1]:
    """A small fleet's readings (3 metrics each, 2 Hz, ending now), under device ids no
    other test uses (``<prefix>-dev-0000n``); ``anomalies`` name the unprefixed ids."""
    config = FleetConfig(devices=devices, rate_hz=2.0, duration_s=duration_s, seed=seed,
                         start_ms=int((time.time() - duration_s - 5) * 1000),
                         anomalies=anomalies)
    return [msgspec.structs.replace(record, device_id=f"{prefix}-{record.device_id}")
            for _, record in generate(config)]


def publish(stack: LocalStack, records: Iterable[TelemetryV1]) -> None:
    publisher = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
    publisher.publish([PutEntry(r.device_id, encode(r), r) for r in records])


# -- alerts ------------------------------------------------------------------------------
def deployed_rules(stack: LocalStack) -> tuple[Rule, ...]:
    """The alerts worker's rules, as deployed (its ALERT_RULES)."""
    configuration = stack.client("lambda").get_function_configuration(
        FunctionName=str(stack.outputs["alerts_function_name"]))
    return parse_rules(configuration["Environment"]["Variables"]["ALERT_RULES"])


def expected_events(records: Iterable[TelemetryV1],
                    rules: Iterable[Rule]) -> list[tuple[str, str, str]]:
    """(device, rule, raised|resolved) for every episode the readings make, in event-time
    order: a run of at least ``for`` consecutive readings for which the rule holds raises
    one, and the first reading after the run for which it does not resolves it."""
    by_device: dict[str, list[TelemetryV1]] = {}
    for record in records:
        by_device.setdefault(record.device_id, []).append(record)
    events = []
    for device, readings in sorted(by_device.items()):
        readings.sort(key=lambda r: (r.ts, r.boot, r.seq))
        for rule in rules:
            run = 0
            for reading in readings:
                value = reading.metrics.get(rule.metric)
                if value is None:
                    continue
                if rule.holds(value):
                    run += 1
                    if run == rule.for_count:
                        events.append((device, rule.name, "raised"))
                    continue
                if run >= rule.for_count:
                    events.append((device, rule.name, "resolved"))
                run = 0
    return events


def alert_messages(stack: LocalStack, prefix: str) -> list[dict[str, Any]]:
    """Every alert on the subscription queue for devices under ``prefix``: received,
    deleted, and returned as the alert bodies (other tests' messages are released)."""
    sqs = stack.client("sqs")
    url = str(stack.outputs["alerts_queue_url"])
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=30, WaitTimeSeconds=1,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            body = _alert_body(message)
            if str(body.get("device", "")).startswith(f"{prefix}-"):
                found.append(body)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=url, VisibilityTimeout=0,
                                              ReceiptHandle=message["ReceiptHandle"])


def _alert_body(message: dict[str, Any]) -> dict[str, Any]:
    """The alert of an SQS message: an SNS envelope's Message, or a raw delivery."""
    body = json.loads(message["Body"])
    if body.get("Type") == "Notification" and "Message" in body:
        return json.loads(body["Message"])  # type: ignore[no-any-return]
    return body  # type: ignore[no-any-return]


# -- archive -----------------------------------------------------------------------------
def archived_lines(stack: LocalStack, prefix: str) -> list[bytes]:
    """Every archived line (a record's JSON text) of devices under ``prefix``."""
    s3 = stack.client("s3")
    bucket = str(stack.outputs["archive_bucket_name"])
    lines = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            lines.extend(line for line in gzip.decompress(body).splitlines()
                         if json.loads(line)["device_id"].startswith(f"{prefix}-"))
    return lines
