"""Update expressions parsed once per text by the embedded AWS: requests sharing a text
still apply their own values, and a text that does not parse is refused every time."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from shardline.local.embedded import EmbeddedAws
from tests.factories.dynamodb import create_aggregates_table

ADD_AND_SET = "ADD #count :n SET #site = :site"


@pytest.fixture
def table(embedded_aws: EmbeddedAws):
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url,
                          region_name="us-east-1")
    name = f"expressions-{uuid.uuid4().hex[:8]}"
    create_aggregates_table(client, name)
    yield client, name
    client.delete_table(TableName=name)


def _update(client, table: str, pk: str, n: int, site: str, expression: str = ADD_AND_SET):
    return client.update_item(
        TableName=table, Key={"PK": {"S": pk}, "SK": {"S": "P"}}, UpdateExpression=expression,
        ExpressionAttributeNames={"#count": "count", "#site": "site"},
        ExpressionAttributeValues={":n": {"N": str(n)}, ":site": {"S": site}},
        ReturnValues="ALL_NEW")["Attributes"]


def test_requests_sharing_an_expression_apply_their_own_values(table) -> None:
    client, name = table
    # GIVEN one expression text, sent by many requests with different values and items
    # WHEN each item is updated three times with it
    last = {}
    for pk in ("dev-a", "dev-b"):
        for n, site in ((1, "plant-1"), (2, "plant-2"), (4, f"plant-{pk}")):
            last[pk] = _update(client, name, pk, n, site)
    # THEN every item holds the sum of its own values and the last site it was given
    assert {pk: (item["count"]["N"], item["site"]["S"]) for pk, item in last.items()} == {
        "dev-a": ("7", "plant-dev-a"), "dev-b": ("7", "plant-dev-b")}


def test_an_expression_that_does_not_parse_is_refused_every_time(table) -> None:
    client, name = table
    # GIVEN a text that is not an update expression
    # WHEN it is sent twice
    # THEN both requests are refused as DynamoDB refuses them, and nothing was written
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            _update(client, name, "dev-c", 1, "x", expression="ADD #count :n SET SET")
        assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in client.get_item(TableName=name,
                                         Key={"PK": {"S": "dev-c"}, "SK": {"S": "P"}})


def test_each_text_is_parsed_once(embedded_aws: EmbeddedAws) -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    # GIVEN the embedded AWS's patches (the fixture installed them)
    # WHEN one text is parsed twice, and another once
    first, again = (UpdateExpressionParser.make("SET #a = :v") for _ in range(2))
    other = UpdateExpressionParser.make("SET #b = :v")
    # THEN the first two are one shared tree, the other its own
    assert first is again and other is not first
