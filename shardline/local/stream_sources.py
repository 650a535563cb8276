"""Which reader serves a stream mapping: Kinesis (shared throughput or EFO) or DynamoDB
Streams. The engine asks here for a mapping's shards and for a reader per shard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shardline.local.dynamodb_source import DynamoDBShardReader, dynamodb_shard_ids
from shardline.local.kinesis_source import KinesisShardReader, kinesis_shard_ids
from shardline.local.mappings import StreamMapping
from shardline.local.stream_consumer import ShardReader

Clients = Callable[[str], Any]  # service name -> boto3 client for the embedded AWS


def shard_ids(clients: Clients, mapping: StreamMapping) -> list[str]:
    """The open shards a stream mapping reads (an EFO mapping: its parent stream's)."""
    if mapping.service == "dynamodb":
        return dynamodb_shard_ids(clients("dynamodbstreams"), mapping.source_arn)
    return kinesis_shard_ids(clients("kinesis"), mapping.stream_arn)


def open_reader(clients: Clients, mapping: StreamMapping, shard_id: str, *, role: str = "",
                checkpoint: str | None = None) -> ShardReader:
    """A reader positioned at the mapping's starting position, or after ``checkpoint``
    (a mapping that was disabled resumes where it stopped)."""
    if mapping.service == "dynamodb":
        return DynamoDBShardReader(clients("dynamodbstreams"), mapping, shard_id,
                                   position=checkpoint).open()
    return KinesisShardReader(clients("kinesis"), mapping, shard_id, role=role,
                              position=checkpoint).open()
