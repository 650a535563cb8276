"""DynamoDB attribute values written straight to JSON by the embedded AWS: the same JSON
as moto's generic serializer, and items that read back exactly as written."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import boto3
import pytest

from shardline.local.embedded import EmbeddedAws
from tests.factories.dynamodb import create_aggregates_table

EVERY_TYPE: dict[str, Any] = {
    "s": {"S": "plant-a"}, "empty": {"S": ""}, "n": {"N": "-12.50"},
    "b": {"B": b"\x00\xffbytes"}, "yes": {"BOOL": True}, "no": {"BOOL": False},
    "null": {"NULL": True}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]}, "empty_list": {"L": []}, "empty_map": {"M": {}},
    "points": {"L": [{"L": [{"N": "1700000000000"}, {"S": "boot"}, {"N": "7"},
                            {"N": "21.5"}, {"NULL": True}]} for _ in range(3)]},
    "nested": {"M": {"outbox": {"M": {"e/raised": {"M": {
        "body": {"S": "{}"}, "claim": {"NULL": True}, "raw": {"B": b"z"}}}}}}},
}


def _serialize(item: dict[str, Any]) -> str:
    """A GetItem response for ``item`` as the embedded AWS's moto serializes it."""
    from moto.core.responses import ActionResult
    from moto.core.serialize import JSONSerializer, XFormedAttributePicker
    from moto.core.utils import get_service_model

    operation = get_service_model("dynamodb").operation_model("GetItem")
    serializer = JSONSerializer(operation_model=operation, pretty_print=False,
                                value_picker=XFormedAttributePicker())
    return str(serializer.serialize(ActionResult({"Item": item}).result)["body"])


def test_attribute_values_serialize_as_the_generic_serializer_does(
        embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an item holding every attribute type, nested lists and maps, binary in them
    from moto.core.serialize import BaseJSONSerializer

    direct = _serialize(EVERY_TYPE)

    # WHEN the generic serializer writes it member by member
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure",
                        BaseJSONSerializer._serialize_type_structure.generic)
    generic = _serialize(EVERY_TYPE)

    # THEN the JSON is the same, byte for byte
    assert direct == generic
    assert json.loads(direct)["Item"]["b"] == {"B": "AP9ieXRlcw=="}


def test_an_item_of_every_type_reads_back_as_written(embedded_aws: EmbeddedAws) -> None:
    # GIVEN an item holding every attribute type, written through the API
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    name = create_aggregates_table(client, f"values-{uuid.uuid4().hex[:8]}")
    item = {"PK": {"S": "D#1"}, "SK": {"S": "A#hot"}, **EVERY_TYPE}
    client.put_item(TableName=name, Item=item)

    # WHEN it is read back, by key and by a Query
    got = client.get_item(TableName=name, Key={"PK": {"S": "D#1"}, "SK": {"S": "A#hot"}},
                          ConsistentRead=True)["Item"]
    queried = client.query(TableName=name, KeyConditionExpression="PK = :p",
                           ExpressionAttributeValues={":p": {"S": "D#1"}})["Items"]

    # THEN every value is the one written (sets as sets, binary as bytes)
    expected = {**item, "ss": {"SS": ["a", "b"]}}
    assert _normalized(got) == _normalized(expected)
    assert _normalized(queried[0]) == _normalized(expected)


def _normalized(value: Any) -> Any:
    """Sets compare unordered, numbers by value."""
    if isinstance(value, dict):
        return {key: (sorted(map(Decimal, inner)) if key == "NS"
                      else sorted(inner) if key in ("SS", "BS")
                      else _normalized(inner)) for key, inner in value.items()}
    if isinstance(value, list):
        return [_normalized(element) for element in value]
    return value
