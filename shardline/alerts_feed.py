"""Recent alerts, read from an SQS queue subscribed to the alerts topic.

The alerts worker publishes one message per episode event (docs/alerts.md): a JSON body
``{"event": "raised"|"resolved", "device", "site", "rule", "severity", "metric", "values",
"episode_id", "first_ts", "last_ts", "last_event_time", "resolved_by"?, ...}`` and String
attributes ``device``, ``site``, ``rule``, ``severity``, ``event``. The queue receives it
in one of two shapes, both read here:

* an SNS envelope (a subscription without raw delivery): the body is JSON with
  ``Type: "Notification"``, the alert body as the string ``Message`` and the attributes as
  ``MessageAttributes: {name: {"Type": "String", "Value": ...}}``;
* a raw delivery: the body *is* the alert body and the attributes are SQS
  ``MessageAttributes: {name: {"DataType": "String", "StringValue": ...}}``.

An alert's time is its ``last_ts``: the reading that raised the episode (completed the
run) or resolved it; its value is that reading's. A message in neither shape is reported
(``Unreadable``), never fatal. SNS may deliver the same alert twice (the worker publishes
at least once): ``distinct`` keeps one per (episode, event).

Reading leaves the messages in the queue: ``AlertsQueue.release`` makes them visible again
at once (ChangeMessageVisibility 0); ``delete`` acknowledges them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

EVENTS = ("raised", "resolved")
SQS_MAX_BATCH, SQS_MAX_WAIT_S = 10, 20
READ_VISIBILITY_S = 30  # hidden while being displayed, then released


@dataclass(frozen=True)
class Alert:
    message_id: str
    receipt_handle: str
    event: str
    device: str
    site: str
    rule: str
    severity: str
    metric: str
    value: Decimal | None
    episode_id: str
    ts_ms: int
    event_time: str

    def as_row(self) -> dict[str, Any]:
        return {"time": self.event_time, "event": self.event, "device": self.device,
                "site": self.site, "rule": self.rule, "severity": self.severity,
                "value": "-" if self.value is None else str(self.value),
                "episode": self.episode_id}


@dataclass(frozen=True)
class Unreadable:
    """A message that is not an alert in either shape, and why."""

    message_id: str
    receipt_handle: str
    reason: str


def _string_attributes(raw: Any) -> dict[str, str]:
    """SNS (``Value``) or SQS (``StringValue``) message attributes as name -> text."""
    if not isinstance(raw, Mapping):
        return {}
    found = {}
    for name, entry in raw.items():
        if isinstance(entry, Mapping):
            value = entry.get("Value", entry.get("StringValue"))
            if value is not None:
                found[str(name)] = str(value)
    return found


def _unwrap(message: Mapping[str, Any]) -> tuple[Any, dict[str, str]]:
    """(alert body text, attributes) of an SNS envelope or a raw delivery."""
    body = message.get("Body", "")
    try:
        outer = json.loads(body, parse_float=Decimal)
    except ValueError:
        raise ValueError("body is not JSON") from None
    if isinstance(outer, dict) and outer.get("Type") == "Notification" and "Message" in outer:
        return outer["Message"], _string_attributes(outer.get("MessageAttributes"))
    return body, _string_attributes(message.get("MessageAttributes"))


def _reading_value(body: Mapping[str, Any]) -> Decimal | None:
    resolved_by = body.get("resolved_by")
    if isinstance(resolved_by, Mapping) and "value" in resolved_by:
        return Decimal(str(resolved_by["value"]))
    values = body.get("values")
    return Decimal(str(values[-1])) if isinstance(values, list) and values else None


def _event_time(body: Mapping[str, Any], ts_ms: int) -> str:
    text = body.get("last_event_time")
    if isinstance(text, str) and text:
        return text
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms / 1000))
    return f"{seconds}.{ts_ms % 1000:03d}+00:00"


def parse_alert_message(message: Mapping[str, Any]) -> Alert | Unreadable:
    """One received SQS message (``Body``, ``MessageAttributes``, ids) as an alert."""
    message_id = str(message.get("MessageId", ""))
    receipt = str(message.get("ReceiptHandle", ""))
    try:
        text, attributes = _unwrap(message)
        body = json.loads(text, parse_float=Decimal) if isinstance(text, str) else text
        if not isinstance(body, dict):
            raise ValueError("the alert is not a JSON object")
        event = str(body.get("event") or attributes.get("event", ""))
        if event not in EVENTS:
            raise ValueError(f"event {event!r} is neither raised nor resolved")
        if "last_ts" not in body or not body.get("episode_id"):
            raise ValueError("no last_ts or episode_id: not an alert body")
        ts_ms = int(body["last_ts"])
        return Alert(
            message_id=message_id, receipt_handle=receipt, event=event,
            device=str(body.get("device") or attributes.get("device", "")),
            site=str(body.get("site") or attributes.get("site", "")),
            rule=str(body.get("rule") or attributes.get("rule", "")),
            severity=str(body.get("severity") or attributes.get("severity", "")),
            metric=str(body.get("metric", "")), value=_reading_value(body),
            episode_id=str(body["episode_id"]), ts_ms=ts_ms,
            event_time=_event_time(body, ts_ms))
    except (ValueError, TypeError, ArithmeticError) as exc:
        return Unreadable(message_id, receipt, str(exc) or type(exc).__name__)


def distinct(alerts: Iterable[Alert]) -> list[Alert]:
    """One alert per (episode, event), in event-time order (raised before resolved)."""
    kept: dict[tuple[str, str], Alert] = {}
    for alert in alerts:
        kept.setdefault((alert.episode_id, alert.event), alert)
    return sorted(kept.values(), key=lambda a: (a.ts_ms, EVENTS.index(a.event), a.episode_id))


class AlertsQueue:
    """The subscription queue: receive without consuming, then release or delete."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs, self.queue_url = sqs, queue_url

    def receive(self, limit: int, wait_s: float) -> list[dict[str, Any]]:
        """Up to ``limit`` messages, long-polling up to ``wait_s`` for the first ones and
        taking whatever else is already there; each is hidden until released."""
        received: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + wait_s
        while len(received) < limit:
            wait = 0 if received else max(0, min(SQS_MAX_WAIT_S,
                                                 math.ceil(deadline - time.monotonic())))
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, WaitTimeSeconds=wait,
                MaxNumberOfMessages=min(SQS_MAX_BATCH, limit - len(received)),
                VisibilityTimeout=READ_VISIBILITY_S,
                MessageAttributeNames=["All"]).get("Messages", [])
            new = [m for m in batch if m["MessageId"] not in received]
            for message in new:
                received[message["MessageId"]] = message
            # Stop when the queue has nothing new: at once after the first messages, else
            # once the wait is over.
            if not new and (received or time.monotonic() >= deadline):
                break
        return list(received.values())

    def release(self, receipt_handles: Iterable[str]) -> None:
        for handle in receipt_handles:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=handle,
                                               VisibilityTimeout=0)

    def delete(self, receipt_handles: Iterable[str]) -> None:
        for handle in receipt_handles:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)


__all__ = ["Alert", "AlertsQueue", "Unreadable", "distinct", "parse_alert_message"]
