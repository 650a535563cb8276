"""The embedded AWS's fault layer: DynamoDB faults any client sees, and the write meter."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas.shared.dynamo import BatchWriteError, batch_write, read_items
from shardline.local.embedded import EmbeddedAws
from shardline.local.fault_layer import DynamoDBFault
from tests.factories.dynamodb import create_aggregates_table


@pytest.fixture
def table(embedded_aws: EmbeddedAws) -> Iterator[tuple[object, str]]:
    # No botocore retries: each test sees exactly what the server answered.
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url,
                          config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    name = f"faults-{uuid.uuid4().hex[:8]}"
    create_aggregates_table(client, name)
    yield client, name
    assert embedded_aws.faults is not None
    embedded_aws.faults.clear()
    client.delete_table(TableName=name)


def _items(n: int, prefix: str = "P#") -> list[dict[str, object]]:
    return [{"PK": f"DM#dev-{i}#t", "SK": f"{prefix}{i:04d}", "count": Decimal(i)}
            for i in range(n)]


def _stored(client: object, name: str) -> int:
    return sum(1 for _ in read_items(client, "scan", TableName=name))


def test_unprocessed_items_are_not_written_and_batch_write_retries_them(
        embedded_aws: EmbeddedAws, table: tuple[object, str]) -> None:
    # GIVEN a rule that leaves about half of every batch unprocessed, for the first 6 calls
    client, name = table
    assert embedded_aws.faults is not None
    rule = embedded_aws.faults.inject(DynamoDBFault("unprocessed", table=name, rate=0.5, times=6))

    # WHEN the one shared helper writes 60 items
    report = batch_write(client, name, _items(60), sleep=lambda _: None)

    # THEN the rule fired, the helper retried, and every item is stored exactly once
    assert rule.injected == 6
    assert report.retries >= 1
    assert _stored(client, name) == 60
    assert embedded_aws.faults.writes()[name] == 60


def test_an_unprocessed_response_has_dynamodbs_shape(
        embedded_aws: EmbeddedAws, table: tuple[object, str]) -> None:
    # GIVEN every item withheld but one call's worth
    client, name = table
    assert embedded_aws.faults is not None
    embedded_aws.faults.inject(DynamoDBFault("unprocessed", table=name, rate=0.5, times=1))
    requests = [{"PutRequest": {"Item": {"PK": {"S": f"k{i}"}, "SK": {"S": "P#x"}}}}
                for i in range(25)]

    # WHEN a client calls BatchWriteItem directly
    response = client.batch_write_item(RequestItems={name: requests})

    # THEN what it reports unprocessed is exactly what is missing from the table
    unprocessed = response["UnprocessedItems"].get(name, [])
    assert 0 < len(unprocessed) < 25
    stored = {item["PK"] for item in read_items(client, "scan", TableName=name)}
    assert stored.isdisjoint({u["PutRequest"]["Item"]["PK"]["S"] for u in unprocessed})
    assert len(stored) + len(unprocessed) == 25


def test_throttling_errors_write_nothing_and_exhaust_a_small_budget(
        embedded_aws: EmbeddedAws, table: tuple[object, str]) -> None:
    # GIVEN every BatchWriteItem throttled
    client, name = table
    assert embedded_aws.faults is not None
    rule = embedded_aws.faults.inject(DynamoDBFault("throttle", table=name))

    # WHEN the helper writes with a budget of 3 calls
    with pytest.raises(BatchWriteError, match="ProvisionedThroughputExceededException"):
        batch_write(client, name, _items(10), max_attempts=3, sleep=lambda _: None)

    # THEN it tried exactly its budget and nothing was written
    assert rule.injected == 3
    assert _stored(client, name) == 0


def test_throttled_batch_writes_count_as_write_throttle_events(
        embedded_aws: EmbeddedAws, table: tuple[object, str]) -> None:
    # GIVEN every BatchWriteItem throttled (the aggregator writes its partials so)
    client, name = table
    assert embedded_aws.faults is not None
    since = time.time() - 1
    embedded_aws.faults.inject(DynamoDBFault("throttle", table=name))
    # WHEN one batch write is throttled
    with pytest.raises(BatchWriteError):
        batch_write(client, name, _items(2), max_attempts=1, sleep=lambda _: None)
    # THEN DynamoDB counts it as a write throttle of the table (WriteThrottleEvents)
    assert [kind for _, table_name, kind in embedded_aws.faults.throttle_events(since)
            if table_name == name] == ["Write"]


def test_an_error_after_applying_leaves_the_write_in_place(
        embedded_aws: EmbeddedAws, table: tuple[object, str]) -> None:
    # GIVEN a rule that lets the first partial write through and fails the second after
    # applying it (a crash after writing), and ignores writes of other sort keys
    client, name = table
    assert embedded_aws.faults is not None
    rule = embedded_aws.faults.inject(
        DynamoDBFault("error", table=name, sort_key_prefix="P#", after=1, times=1))

    # WHEN two batches of partials and one of totals are written
    batch_write(client, name, _items(3, "T#"))
    batch_write(client, name, _items(3))
    with pytest.raises(BatchWriteError, match="ValidationException"):
        batch_write(client, name, _items(5))

    # THEN the failed call's items were stored anyway, and the rule fired once
    assert rule.injected == 1 and rule.matched == 2
    assert _stored(client, name) == 3 + 5  # T#0..2 and P#0000..0004 (P#0..2 rewritten)


def test_a_delay_holds_the_call(embedded_aws: EmbeddedAws, table: tuple[object, str]) -> None:
    # GIVEN a 0.3 s delay on one call
    client, name = table
    assert embedded_aws.faults is not None
    embedded_aws.faults.inject(DynamoDBFault("delay", table=name, delay_s=0.3, times=1))

    # WHEN two writes are made
    started = time.monotonic()
    batch_write(client, name, _items(2))
    first = time.monotonic() - started
    started = time.monotonic()
    batch_write(client, name, _items(2))
    second = time.monotonic() - started

    # THEN the first waited and was applied; the rule is spent for the second
    assert first >= 0.3 > second
    assert _stored(client, name) == 2


def test_the_meter_counts_single_item_writes_per_table(
        embedded_aws: EmbeddedAws, table: tuple[object, str]) -> None:
    # GIVEN the meter's reading before
    client, name = table
    assert embedded_aws.faults is not None
    before = embedded_aws.faults.writes()[name]

    # WHEN one item is put, updated and deleted, and a conditional put fails
    key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    client.put_item(TableName=name, Item=key)
    client.update_item(TableName=name, Key=key, UpdateExpression="SET v = :v",
                       ExpressionAttributeValues={":v": {"N": "1"}})
    with pytest.raises(ClientError):
        client.put_item(TableName=name, Item=key, ConditionExpression="attribute_not_exists(PK)")
    client.delete_item(TableName=name, Key=key)

    # THEN three writes were applied (the rejected one is not counted)
    assert embedded_aws.faults.writes()[name] - before == 3


def test_rules_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        DynamoDBFault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate"):
        DynamoDBFault("throttle", rate=0)
    with pytest.raises(ValueError, match="UnprocessedItems"):
        DynamoDBFault("unprocessed", operation="PutItem")
    with pytest.raises(ValueError, match="delay_s"):
        DynamoDBFault("delay")
