"""Reading a Kinesis shard for an event source mapping (shared throughput or EFO).

A mapping on a stream polls each shard once a second (GetRecords, ≤10,000 records). A
mapping on a stream *consumer* (enhanced fan-out, EventSourceArn
``…:stream/<name>/consumer/<consumer>:<timestamp>``) gets its records pushed by
SubscribeToShard in AWS; moto has no SubscribeToShard, so shardline reads the parent
stream with GetRecords for it too, every half second, with its own iterator and
checkpoints — independent of every other mapping on the stream, as an EFO consumer is.
Records and on-failure records name the parent stream (``eventSourceARN``,
``streamArn``). moto's consumer ARNs lack AWS's ``:<timestamp>`` suffix; both forms work.

The rules applied to what is read (batching, retries, windows, ...) live in
``stream_consumer``; ``ShardConsumer``, ``Invocation`` and ``WINDOW_STATE_CAP_BYTES`` are
re-exported here for the engine.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import Any

from shardline.local.mappings import StreamMapping
from shardline.local.stream_consumer import (
    WINDOW_STATE_CAP_BYTES,
    Invocation,
    ShardConsumer,
    StreamRecord,
)

__all__ = ["WINDOW_STATE_CAP_BYTES", "Invocation", "KinesisShardReader", "ShardConsumer",
           "kinesis_shard_ids"]

log = logging.getLogger("shardline.engine")

GET_RECORDS_LIMIT = 10_000
SHARED_POLL_INTERVAL_S = 1.0
EFO_POLL_INTERVAL_S = 0.5


def kinesis_shard_ids(kinesis: Any, stream_arn: str) -> list[str]:
    """The stream's open shards."""
    shards: list[str] = []
    kwargs: dict[str, Any] = {"StreamARN": stream_arn}
    while True:
        page = kinesis.list_shards(**kwargs)
        shards.extend(s["ShardId"] for s in page["Shards"]
                      if "EndingSequenceNumber" not in s["SequenceNumberRange"])
        token = page.get("NextToken")
        if not token:
            return shards
        kwargs = {"NextToken": token}


@dataclass
class KinesisShardReader:
    """GetRecords on one shard; the iterator is taken when the reader opens, so LATEST
    means "after what the shard held when the mapping started"."""

    kinesis: Any
    mapping: StreamMapping
    shard_id: str
    role: str = ""
    position: str | None = None  # the last sequence number read (or the checkpoint)
    batch_info_key: str = "KinesisBatchInfo"
    limit: int = GET_RECORDS_LIMIT
    poll_interval_s: float = field(init=False)
    _iterator: str | None = None
    _read: int = 0

    def __post_init__(self) -> None:
        self.poll_interval_s = (EFO_POLL_INTERVAL_S if self.mapping.consumer_arn
                                else SHARED_POLL_INTERVAL_S)

    @property
    def stream_arn(self) -> str:
        return self.mapping.stream_arn

    def open(self) -> KinesisShardReader:
        self._iterator = self._new_iterator()
        return self

    def _new_iterator(self) -> str:
        args: dict[str, Any] = {"StreamARN": self.stream_arn, "ShardId": self.shard_id}
        position = self.mapping.starting_position
        if self.position is not None:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                        StartingSequenceNumber=self.position)
        elif position == "AT_TIMESTAMP" and self.mapping.starting_position_timestamp:
            args.update(ShardIteratorType="AT_TIMESTAMP",
                        Timestamp=self.mapping.starting_position_timestamp)
        else:
            if position == "AT_TIMESTAMP":
                log.warning("mapping %s has no StartingPositionTimestamp; reading from "
                            "TRIM_HORIZON", self.mapping.uuid)
            args.update(ShardIteratorType="LATEST" if position == "LATEST" else "TRIM_HORIZON")
        return str(self.kinesis.get_shard_iterator(**args)["ShardIterator"])

    def read(self) -> tuple[list[StreamRecord], bool]:
        if self._iterator is None:
            self._iterator = self._new_iterator()
        try:
            response = self.kinesis.get_records(ShardIterator=self._iterator, Limit=self.limit,
                                                StreamARN=self.stream_arn)
        except self.kinesis.exceptions.ExpiredIteratorException:
            self._iterator = self._new_iterator()
            return [], False
        self._iterator = response.get("NextShardIterator")
        raw_records = response.get("Records", [])
        records = [self._record(raw) for raw in raw_records]
        if records:
            self.position = records[-1].sequence_number
        at_tip = response.get("MillisBehindLatest", 0) == 0 and len(raw_records) < self.limit
        return records, at_tip

    def _record(self, raw: dict[str, Any]) -> StreamRecord:
        sequence_number = raw["SequenceNumber"]
        arrival = raw["ApproximateArrivalTimestamp"].timestamp()
        data = base64.b64encode(bytes(raw["Data"])).decode()
        event = {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": raw["PartitionKey"],
                "sequenceNumber": sequence_number,
                "data": data,
                "approximateArrivalTimestamp": arrival,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{self.shard_id}:{sequence_number}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": self.role,
            "awsRegion": self.mapping.region,
            "eventSourceARN": self.stream_arn,
        }
        self._read += 1
        return StreamRecord(
            position=self._read - 1, sequence_number=sequence_number,
            partition_key=raw["PartitionKey"], arrival=arrival, event=event,
            # The JSON of the record: the data and the keys, plus the fixed fields.
            size=len(data) + len(raw["PartitionKey"]) + 2 * len(sequence_number)
            + len(self.role) + len(self.stream_arn) + 320,
        )
