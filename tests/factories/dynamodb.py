"""DynamoDB helpers for tests running against embedded AWS (moto's ``mock_aws`` or the
local stack): create the aggregates table as Terraform does, read items back as
resource-level Python values."""

from __future__ import annotations

from typing import Any

from lambdas.shared.aggregates import HOUR_INDEX_NAME, HOUR_INDEX_PK, HOUR_INDEX_SK
from lambdas.shared.dynamo import read_items

AGGREGATES_TABLE = "aggregates"
# What the by_hour index projects (terraform/main.tf, module "storage").
HOUR_INDEX_ATTRIBUTES = ["kind", "device_id", "site", "sites", "metric", "bucket",
                         "count", "sum", "min", "max", "sumsq", "expires_at"]


def create_aggregates_table(client: Any, table_name: str = AGGREGATES_TABLE) -> str:
    """The ``aggregates`` table: PK/SK strings, on-demand, stream of new and old images,
    and the sparse ``by_hour`` index of minute totals."""
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": HOUR_INDEX_PK, "AttributeType": "S"},
            {"AttributeName": HOUR_INDEX_SK, "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[{
            "IndexName": HOUR_INDEX_NAME,
            "KeySchema": [
                {"AttributeName": HOUR_INDEX_PK, "KeyType": "HASH"},
                {"AttributeName": HOUR_INDEX_SK, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE",
                           "NonKeyAttributes": HOUR_INDEX_ATTRIBUTES},
        }],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    client.get_waiter("table_exists").wait(TableName=table_name)
    return table_name


def scan_items(client: Any, table_name: str = AGGREGATES_TABLE) -> list[dict[str, Any]]:
    """Every item of the table (all pages), deserialised, sorted by (PK, SK)."""
    items = read_items(client, "scan", TableName=table_name)
    return sorted(items, key=lambda item: (item["PK"], item["SK"]))


__all__ = ["AGGREGATES_TABLE", "HOUR_INDEX_ATTRIBUTES", "create_aggregates_table", "scan_items"]
