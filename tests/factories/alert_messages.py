"""Alert messages as the alerts subscription queue receives them (docs/alerts.md): the
worker's body and attributes, wrapped in an SNS envelope or delivered raw."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.factories.telemetry import BASE_TS_MS

EPISODE = "dev-00042/overheat/1763899980000-0-917"


def alert_body(event: str = "raised", *, device: str = "dev-00042", site: str = "plant-a",
               rule: str = "overheat", severity: str = "critical",
               values: list[float] | None = None, last_ts: int = BASE_TS_MS + 2_000,
               episode_id: str = EPISODE) -> dict[str, Any]:
    """The worker's JSON body of one alert (``values`` end with the deciding reading)."""
    readings = values or [85, 81.5, 80.000001]
    body: dict[str, Any] = {
        "event": event, "device": device, "site": site, "rule": rule, "severity": severity,
        "metric": "temperature_c", "op": ">", "threshold": 80, "for": 3,
        "episode_id": episode_id, "values": readings,
        "first_ts": BASE_TS_MS, "first_event_time": "2025-11-23T12:13:00.000+00:00",
        "last_ts": last_ts, "last_event_time": _iso(last_ts)}
    if event == "resolved":
        body["resolved_by"] = {"ts": last_ts, "boot": 0, "seq": 920, "value": readings[-1]}
    return body


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def attributes_of(body: dict[str, Any]) -> dict[str, str]:
    return {name: str(body[name]) for name in ("device", "site", "rule", "severity", "event")}


def sqs_message(body_text: str, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message as ReceiveMessage returns it."""
    message: dict[str, Any] = {"MessageId": str(uuid.uuid4()),
                               "ReceiptHandle": uuid.uuid4().hex, "Body": body_text}
    if attributes:
        message["MessageAttributes"] = attributes
    return message


def raw_delivery(body: dict[str, Any]) -> dict[str, Any]:
    """Raw message delivery: the body is the alert, attributes are SQS attributes."""
    return sqs_message(json.dumps(body), {
        name: {"DataType": "String", "StringValue": value}
        for name, value in attributes_of(body).items()})


def sns_envelope_text(body: dict[str, Any]) -> str:
    return json.dumps({
        "Type": "Notification", "MessageId": str(uuid.uuid4()),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:shardline-alerts",
        "Message": json.dumps(body), "Timestamp": "2025-11-23T12:13:03.000Z",
        "MessageAttributes": {name: {"Type": "String", "Value": value}
                              for name, value in attributes_of(body).items()}})


def sns_envelope(body: dict[str, Any]) -> dict[str, Any]:
    """A subscription without raw delivery: the SNS envelope is the SQS body."""
    return sqs_message(sns_envelope_text(body))


__all__ = ["EPISODE", "alert_body", "raw_delivery", "sns_envelope", "sns_envelope_text",
           "sqs_message"]
