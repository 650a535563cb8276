"""DynamoDB Time to Live in the embedded AWS: the sweep deletes what AWS's TTL deletes,
and each deletion reaches the stream as a REMOVE made by the DynamoDB service."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest

from lambdas.shared.dynamo import batch_write, read_items
from shardline.local import embedded_ttl
from shardline.local.dynamodb_source import DynamoDBShardReader
from shardline.local.embedded import EmbeddedAws
from shardline.local.embedded_ttl import IGNORED_AFTER_S, TtlSweeper, sweep_expired_items
from shardline.local.mappings import StreamMapping
from tests.factories.dynamodb import create_aggregates_table, scan_items

NOW = int(time.time())


def _table(embedded_aws: EmbeddedAws, *, ttl: bool) -> tuple[Any, Any, str, str]:
    """A fresh aggregates table (stream on), TTL on ``expires_at`` when ``ttl``."""
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url)
    streams = boto3.client("dynamodbstreams", endpoint_url=embedded_aws.endpoint_url)
    name = f"ttl-{uuid.uuid4().hex[:8]}"
    create_aggregates_table(client, name)
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "expires_at"})
    stream_arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    return client, streams, name, stream_arn


def _stream_records(streams: Any, stream_arn: str) -> list[dict[str, Any]]:
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return list(streams.get_records(ShardIterator=iterator, Limit=1000)["Records"])


def test_the_sweep_deletes_only_what_aws_ttl_deletes(embedded_aws: EmbeddedAws) -> None:
    # GIVEN a table with TTL on expires_at and items whose TTL AWS treats differently
    client, _, name, _ = _table(embedded_aws, ttl=True)
    batch_write(client, name, [
        {"PK": "a", "SK": "expired", "expires_at": NOW - 60},
        {"PK": "a", "SK": "future", "expires_at": NOW + 3600},
        {"PK": "a", "SK": "over-five-years-ago", "expires_at": NOW - IGNORED_AFTER_S - 86_400},
        {"PK": "a", "SK": "milliseconds", "expires_at": NOW * 1000},
        {"PK": "a", "SK": "a-string", "expires_at": str(NOW - 60)},
        {"PK": "a", "SK": "no-ttl"},
    ])
    # WHEN the TTL sweep runs
    deleted = sweep_expired_items(NOW)
    # THEN only the item whose epoch-seconds TTL is past (and within five years) is gone
    assert deleted == 1
    assert [item["SK"] for item in scan_items(client, name)] == [
        "a-string", "future", "milliseconds", "no-ttl", "over-five-years-ago"]


def test_a_ttl_deletion_is_a_remove_by_the_dynamodb_service(embedded_aws: EmbeddedAws) -> None:
    # GIVEN an expired item, and one a user deletes
    client, streams, name, stream_arn = _table(embedded_aws, ttl=True)
    batch_write(client, name, [{"PK": "a", "SK": "expired", "expires_at": NOW - 60},
                               {"PK": "a", "SK": "deleted-by-a-user"}])
    client.delete_item(TableName=name, Key={"PK": {"S": "a"}, "SK": {"S": "deleted-by-a-user"}})
    # WHEN the sweep deletes the expired one
    sweep_expired_items(NOW)
    # THEN the stream holds a REMOVE with its old image and the TTL service's identity,
    # and the user's REMOVE carries no identity
    removes = [r for r in _stream_records(streams, stream_arn) if r["eventName"] == "REMOVE"]
    by_key = {r["dynamodb"]["Keys"]["SK"]["S"]: r for r in removes}
    ttl_remove = by_key["expired"]
    assert ttl_remove["userIdentity"] == {"Type": "Service",
                                          "PrincipalId": "dynamodb.amazonaws.com"}
    assert ttl_remove["dynamodb"]["OldImage"]["expires_at"] == {"N": str(NOW - 60)}
    assert "userIdentity" not in by_key["deleted-by-a-user"]


def test_a_table_without_ttl_keeps_its_expired_looking_items(embedded_aws: EmbeddedAws) -> None:
    # GIVEN a table whose TTL is not enabled, with an item whose expires_at is past
    client, _, name, _ = _table(embedded_aws, ttl=False)
    batch_write(client, name, [{"PK": "a", "SK": "kept", "expires_at": NOW - 60}])
    # WHEN the sweep runs THEN nothing is deleted
    sweep_expired_items(NOW)
    assert [item["SK"] for item in read_items(client, "scan", TableName=name)] == ["kept"]


def test_the_sweeper_component_runs_again_after_its_interval() -> None:
    # GIVEN the sweeper as a driver component WHEN it steps THEN it asks to run again later
    assert TtlSweeper(interval_s=30).step(1000.0) == 1030.0


def test_a_mapping_delivers_the_ttl_identity_as_lambda_spells_it(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN an item deleted by the TTL sweep, and a mapping's reader of the table's stream
    client, streams, name, stream_arn = _table(embedded_aws, ttl=True)
    batch_write(client, name, [{"PK": "a", "SK": "expired", "expires_at": NOW - 60}])
    sweep_expired_items(NOW)
    mapping = StreamMapping.from_api({
        "UUID": "ttl-reader", "EventSourceArn": stream_arn, "State": "Enabled",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:rollup",
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 100})
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    # WHEN the reader reads the shard
    records, _ = DynamoDBShardReader(streams, mapping, shard["ShardId"]).read()
    # THEN the REMOVE event carries userIdentity as Lambda's DynamoDB event has it
    [remove] = [r.event for r in records if r.event["eventName"] == "REMOVE"]
    assert remove["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_the_sweep_pages_through_a_table_judging_each_item_as_it_is_then(
        embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 1,200 expired items (three pages), and a writer that gives the last one a
    # future TTL once the sweep has listed them
    client, _, name, _ = _table(embedded_aws, ttl=True)
    batch_write(client, name, [{"PK": "a", "SK": f"{i:04d}", "expires_at": NOW - 60}
                               for i in range(1200)])
    listed = embedded_ttl._keys
    holders: list[int] = []
    peek = embedded_ttl.peek_attributes

    def keys_then_rewrite(table: Any) -> list[Any]:
        keys = listed(table)
        client.put_item(TableName=name, Item={"PK": {"S": "a"}, "SK": {"S": "1199"},
                                              "expires_at": {"N": str(NOW + 3600)}})
        return keys

    def peek_counting(items: list[Any], attribute: str) -> Any:
        holders.append(len(items))
        return peek(items, attribute)

    monkeypatch.setattr(embedded_ttl, "_keys", keys_then_rewrite)
    monkeypatch.setattr(embedded_ttl, "peek_attributes", peek_counting)

    # WHEN the sweep runs
    deleted = sweep_expired_items(NOW)

    # THEN it read the table a page at a time (each page under the table lock, requests
    # in between), and kept the item rewritten after it was listed
    assert holders[-3:] == [500, 500, 200]  # other tests' tables come first
    assert deleted == 1199
    assert [item["SK"] for item in scan_items(client, name)] == ["1199"]
