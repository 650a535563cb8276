"""Reading a DynamoDB stream shard for an event source mapping.

Lambda polls DynamoDB stream shards up to four times a second; so does shardline
(DescribeStream for the shards, GetShardIterator, GetRecords through the
``dynamodbstreams`` API). Records are handed to the handler as Lambda shapes them:
``eventVersion`` "1.1", ``ApproximateCreationDateTime`` as epoch seconds, binary
attributes base64-encoded, ``eventSourceARN`` the stream's ARN. ParallelizationFactor
keeps the changes of one item (its key) in order.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from shardline.local.mappings import StreamMapping
from shardline.local.shard_lineage import ShardInfo
from shardline.local.stream_consumer import StreamRecord

log = logging.getLogger("shardline.engine")

GET_RECORDS_LIMIT = 1_000
POLL_INTERVAL_S = 0.25


def dynamodb_shards(streams: Any, stream_arn: str) -> list[ShardInfo]:
    """The stream's open shards (those without an ending sequence number): DynamoDB
    stream shard lineage is not followed (moto's stream has one shard that never
    closes)."""
    shards: list[ShardInfo] = []
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = streams.describe_stream(**kwargs)["StreamDescription"]
        shards.extend(ShardInfo(s["ShardId"]) for s in description.get("Shards", [])
                      if "EndingSequenceNumber" not in s.get("SequenceNumberRange", {}))
        last = description.get("LastEvaluatedShardId")
        if not last:
            return shards
        kwargs = {"StreamArn": stream_arn, "ExclusiveStartShardId": last}


@dataclass
class DynamoDBShardReader:
    streams: Any
    mapping: StreamMapping
    shard_id: str
    position: str | None = None  # the last sequence number read (or the checkpoint)
    batch_info_key: str = "DDBStreamBatchInfo"
    limit: int = GET_RECORDS_LIMIT
    poll_interval_s: float = POLL_INTERVAL_S
    ended: bool = False  # closed shards are not read (``dynamodb_shards``)
    _iterator: str | None = None
    _read: int = 0

    @property
    def stream_arn(self) -> str:
        return self.mapping.source_arn

    def open(self) -> DynamoDBShardReader:
        self._iterator = self._new_iterator()
        return self

    def _new_iterator(self) -> str:
        args: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": self.shard_id}
        if self.position is not None:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.position)
        else:
            latest = self.mapping.starting_position == "LATEST"
            args.update(ShardIteratorType="LATEST" if latest else "TRIM_HORIZON")
        return str(self.streams.get_shard_iterator(**args)["ShardIterator"])

    def read(self) -> tuple[list[StreamRecord], bool]:
        if self._iterator is None:
            self._iterator = self._new_iterator()
        try:
            response = self.streams.get_records(ShardIterator=self._iterator, Limit=self.limit)
        except self.streams.exceptions.ExpiredIteratorException:
            self._iterator = self._new_iterator()
            return [], False
        self._iterator = response.get("NextShardIterator")
        raw_records = response.get("Records", [])
        records = [self._record(raw) for raw in raw_records]
        if records:
            self.position = records[-1].sequence_number
        return records, len(raw_records) < self.limit

    def _record(self, raw: dict[str, Any]) -> StreamRecord:
        change = raw["dynamodb"]
        created = change["ApproximateCreationDateTime"]
        arrival = created.timestamp() if hasattr(created, "timestamp") else float(created)
        body: dict[str, Any] = {
            # Epoch seconds, rounded down, as the DynamoDB Streams event documents it.
            "ApproximateCreationDateTime": int(arrival),
            "Keys": _jsonable(change["Keys"]),
        }
        for image in ("NewImage", "OldImage"):
            if image in change:
                body[image] = _jsonable(change[image])
        body.update(
            SequenceNumber=change["SequenceNumber"],
            SizeBytes=change["SizeBytes"],
            StreamViewType=change["StreamViewType"],
        )
        event = {
            "eventID": raw["eventID"],
            "eventName": raw["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion") or self.mapping.region,
            "dynamodb": body,
            "eventSourceARN": self.stream_arn,
        }
        identity = raw.get("userIdentity")
        if identity:  # a TTL deletion: Lambda's event spells the fields in camel case
            event["userIdentity"] = {"type": identity.get("Type"),
                                     "principalId": identity.get("PrincipalId")}
        self._read += 1
        return StreamRecord(
            position=self._read - 1, sequence_number=change["SequenceNumber"],
            partition_key=json.dumps(body["Keys"], sort_keys=True), arrival=arrival,
            event=event, size=len(json.dumps(event, separators=(",", ":"))),
        )


def _jsonable(value: Any) -> Any:
    """Attribute values as Lambda's JSON event carries them (bytes → base64)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_jsonable(v) for v in value]
    return value
