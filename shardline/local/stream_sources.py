"""Which reader serves a stream mapping: Kinesis shared throughput (GetRecords within the
shard's shared budget), Kinesis enhanced fan-out (a consumer's subscription, with its own
budget) or DynamoDB Streams. The engine asks here for a mapping's shards and for a reader
per shard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shardline.local.dynamodb_source import DynamoDBShardReader, dynamodb_shards
from shardline.local.efo_subscription import EfoShardReader
from shardline.local.kinesis_source import KinesisShardReader, kinesis_shards
from shardline.local.mappings import StreamMapping
from shardline.local.read_budget import ReadBudgets
from shardline.local.shard_lineage import ShardInfo
from shardline.local.stream_consumer import ShardReader

Clients = Callable[[str], Any]  # service name -> boto3 client for the embedded AWS


def stream_shards(clients: Clients, mapping: StreamMapping) -> list[ShardInfo]:
    """The shards of the stream a mapping reads (an EFO mapping: its parent stream's),
    with their lineage (``shard_lineage``)."""
    if mapping.service == "dynamodb":
        return dynamodb_shards(clients("dynamodbstreams"), mapping.source_arn)
    return kinesis_shards(clients("kinesis"), mapping.stream_arn)


def open_reader(clients: Clients, mapping: StreamMapping, shard_id: str, budgets: ReadBudgets,
                *, role: str = "", checkpoint: str | None = None,
                from_first_record: bool = False) -> ShardReader:
    """A reader positioned at the mapping's starting position, or after ``checkpoint``
    (a mapping that was disabled resumes where it stopped), or at the shard's first
    record (``from_first_record``: a child shard after its parents were read)."""
    if mapping.service == "dynamodb":
        return DynamoDBShardReader(clients("dynamodbstreams"), mapping, shard_id,
                                   position=checkpoint).open()
    reader = KinesisShardReader(clients("kinesis"), mapping, shard_id, role=role,
                                position=checkpoint,
                                starting_position="TRIM_HORIZON" if from_first_record else None)
    consumer_arn = mapping.consumer_arn
    if consumer_arn is None:
        reader.budget = budgets.shared(mapping.stream_arn, shard_id)
        return reader.open()
    return EfoShardReader(reader.open(), mapping, budgets.clock,
                          budgets.dedicated(consumer_arn, shard_id),
                          continuation_sequence_number=checkpoint)
