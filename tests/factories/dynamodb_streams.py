"""DynamoDB stream event factories: the events Lambda sends a function mapped to a table's
stream, built from resource-level items (as the table would hold them)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from lambdas.shared.dynamo import serialize_item

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STREAM_ARN = (f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/aggregates/stream/"
              "2026-01-01T00:00:00.000")

_sequence = itertools.count(100_000_000_000_000_000_000)


def stream_record(
    new_image: Mapping[str, Any] | None,
    *,
    event_name: str = "INSERT",
    old_image: Mapping[str, Any] | None = None,
    keys: Mapping[str, Any] | None = None,
    sequence_number: str | None = None,
    stream_arn: str = STREAM_ARN,
) -> dict[str, Any]:
    """One record of a NEW_AND_OLD_IMAGES stream (images given as resource-level items)."""
    source = new_image if new_image is not None else old_image
    key_values = keys if keys is not None else {
        name: source[name] for name in ("PK", "SK")} if source is not None else {}
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1_767_225_600,
        "Keys": serialize_item(key_values),
        "SequenceNumber": sequence_number or str(next(_sequence)),
        "SizeBytes": 256,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        dynamodb["NewImage"] = serialize_item(new_image)
    if old_image is not None:
        dynamodb["OldImage"] = serialize_item(old_image)
    return {
        "eventID": dynamodb["SequenceNumber"][-12:],
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def ttl_removal(old_image: Mapping[str, Any]) -> dict[str, Any]:
    """The REMOVE record of an item DynamoDB's TTL deleted, as Lambda delivers it."""
    record = stream_record(None, event_name="REMOVE", old_image=old_image)
    record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def inserts(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """INSERT records for ``items``, in order."""
    return [stream_record(item) for item in items]


def stream_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


def sequence_numbers(event: Mapping[str, Any]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]


__all__ = ["STREAM_ARN", "inserts", "sequence_numbers", "stream_event", "stream_record",
           "ttl_removal"]
