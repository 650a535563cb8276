"""Reads of the embedded stack's tables that several integration tests make."""

from __future__ import annotations

from typing import Any

from lambdas.shared.aggregates import BucketKey, total_sort_key
from lambdas.shared.dynamo import deserialize_item
from shardline.local.stack import LocalStack


def minute_total(stack: LocalStack, key: BucketKey) -> dict[str, Any] | None:
    """The rollup's total item for one (device, metric, minute), read consistently."""
    response = stack.client("dynamodb").get_item(
        TableName=str(stack.outputs["aggregates_table_name"]),
        Key={"PK": {"S": f"DM#{key.device_id}#{key.metric}"},
             "SK": {"S": total_sort_key(key.bucket)}},
        ConsistentRead=True,
    )
    return deserialize_item(response["Item"]) if "Item" in response else None
