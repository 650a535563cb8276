"""What an SQS consumer works with: the messages received, their shape in the function's
event, and the invocation log's entries (``sqs_source`` applies Lambda's rules to them)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from shardline.local.sqs_mapping import SqsMapping

EVENT_SOURCE = "aws:sqs"


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One received message, as ReceiveMessage returned it."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, Any]
    md5_of_body: str
    md5_of_message_attributes: str | None
    received_at: float  # clock time of the ReceiveMessage that returned it
    visible_again_at: float  # received_at + the queue's VisibilityTimeout

    @property
    def arrival(self) -> float:
        """When the message was sent (epoch seconds)."""
        return int(self.attributes.get("SentTimestamp", 0)) / 1000

    @classmethod
    def from_api(cls, raw: dict[str, Any], received_at: float,
                 visibility_timeout_s: float) -> QueueMessage:
        return cls(
            message_id=raw["MessageId"],
            receipt_handle=raw["ReceiptHandle"],
            body=raw["Body"],
            attributes=dict(raw.get("Attributes") or {}),
            message_attributes=dict(raw.get("MessageAttributes") or {}),
            md5_of_body=raw["MD5OfBody"],
            md5_of_message_attributes=raw.get("MD5OfMessageAttributes"),
            received_at=received_at,
            visible_again_at=received_at + visibility_timeout_s,
        )

    def event_record(self, mapping: SqsMapping) -> dict[str, Any]:
        record: dict[str, Any] = {
            "messageId": self.message_id,
            "receiptHandle": self.receipt_handle,
            "body": self.body,
            "attributes": dict(self.attributes),
            "messageAttributes": lambda_message_attributes(self.message_attributes),
            "md5OfBody": self.md5_of_body,
        }
        if self.md5_of_message_attributes is not None:
            record["md5OfMessageAttributes"] = self.md5_of_message_attributes
        record.update(eventSource=EVENT_SOURCE, eventSourceARN=mapping.source_arn,
                      awsRegion=mapping.region)
        return record


def lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS API message attributes in the shape Lambda's SQS event uses."""
    converted: dict[str, Any] = {}
    for name, value in attributes.items():
        entry: dict[str, Any] = {}
        if value.get("StringValue") is not None:
            entry["stringValue"] = value["StringValue"]
        if value.get("BinaryValue") is not None:
            entry["binaryValue"] = _b64(value["BinaryValue"])
        entry["stringListValues"] = list(value.get("StringListValues") or [])
        entry["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues") or []]
        entry["dataType"] = value["DataType"]
        converted[name] = entry
    return converted


def _b64(value: bytes | str) -> str:
    data = value.encode() if isinstance(value, str) else bytes(value)
    return base64.b64encode(data).decode()


def record_bytes(message: QueueMessage) -> int:
    return len(message.body.encode()) + len(json.dumps(message.message_attributes,
                                                       default=str)) + 1024


@dataclass(frozen=True, slots=True)
class SqsInvocation:
    """One entry of the invocation log for an SQS mapping (observability and tests)."""

    function: str
    mapping_uuid: str
    queue_arn: str
    message_ids: tuple[str, ...]
    batch_size: int
    duration_ms: float
    outcome: str  # ok | partial | error | invalid_response
    error_type: str | None
    failed_message_ids: tuple[str, ...]  # left in the queue for another attempt
    at: float
