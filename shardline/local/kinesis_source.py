"""Reading a Kinesis shard for an event source mapping with GetRecords.

A shared-throughput mapping polls each shard once a second (GetRecords, ≤10,000 records,
≤10 MiB per call) within the shard's shared read budget (``read_budget``: 2 MiB/s and 5
calls/s for every GetRecords reader of the shard): a call the shard would refuse
(``ProvisionedThroughputExceededException``) reads nothing and the mapping polls again
at its next second. A mapping on a stream *consumer* (enhanced fan-out, EventSourceArn
``…:stream/<name>/consumer/<consumer>:<timestamp>``) is served by ``efo_subscription``,
which uses this reader, without the shared budget, to fetch what its subscription
pushes. Records and on-failure records name the parent stream (``eventSourceARN``,
``streamArn``).

The rules applied to what is read (batching, retries, windows, ...) live in
``stream_consumer``; ``ShardConsumer``, ``Invocation`` and ``WINDOW_STATE_CAP_BYTES`` are
re-exported here for the engine.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

from shardline.local.mappings import StreamMapping
from shardline.local.read_budget import MAX_BYTES_PER_CALL, ReadBudget
from shardline.local.shard_lineage import ShardInfo
from shardline.local.stream_consumer import Invocation, ShardConsumer, StreamRecord
from shardline.local.tumbling_windows import WINDOW_STATE_CAP_BYTES

__all__ = ["WINDOW_STATE_CAP_BYTES", "Invocation", "KinesisShardReader", "ShardConsumer",
           "kinesis_shards"]

log = logging.getLogger("shardline.engine")

GET_RECORDS_LIMIT = 10_000
SHARED_POLL_INTERVAL_S = 1.0


def kinesis_shards(kinesis: Any, stream_arn: str) -> list[ShardInfo]:
    """Every shard ListShards lists: open ones, and closed ones (after a reshard) whose
    records have not expired yet, with their parents."""
    shards: list[ShardInfo] = []
    kwargs: dict[str, Any] = {"StreamARN": stream_arn}
    while True:
        page = kinesis.list_shards(**kwargs)
        shards.extend(ShardInfo.from_api(shard) for shard in page["Shards"])
        token = page.get("NextToken")
        if not token:
            return shards
        kwargs = {"NextToken": token}


@dataclass
class KinesisShardReader:
    """GetRecords on one shard; the iterator is taken when the reader opens, so LATEST
    means "after what the shard held when the mapping started". A closed shard (after a
    reshard) ends when GetRecords returns no next iterator: ``ended``."""

    kinesis: Any
    mapping: StreamMapping
    shard_id: str
    role: str = ""
    position: str | None = None  # the last sequence number read (or the checkpoint)
    # Where to start without a position (None: the mapping's StartingPosition).
    starting_position: str | None = None
    batch_info_key: str = "KinesisBatchInfo"
    limit: int = GET_RECORDS_LIMIT
    poll_interval_s: float = SHARED_POLL_INTERVAL_S
    # The shard's shared read budget; None: not counted (an EFO subscription's fetches).
    budget: ReadBudget | None = None
    refused: int = 0  # calls the shard's shared budget refused
    millis_behind_latest: int = 0
    ended: bool = False  # a closed shard read to its end
    _iterator: str | None = None
    _read: int = 0

    @property
    def stream_arn(self) -> str:
        return self.mapping.stream_arn

    def open(self) -> KinesisShardReader:
        self._iterator = self._new_iterator()
        return self

    def _new_iterator(self) -> str:
        args: dict[str, Any] = {"StreamARN": self.stream_arn, "ShardId": self.shard_id}
        position = self.starting_position or self.mapping.starting_position
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

    def restart_after(self, sequence_number: str | None) -> None:
        """Continue after ``sequence_number`` (None: from the starting position)."""
        self.position = sequence_number
        self._iterator = None

    def read(self) -> tuple[list[StreamRecord], bool]:
        if self.ended:
            return [], True
        if self.budget is not None and not self.budget.admits_call():
            self.refused += 1
            return [], False
        if self._iterator is None:
            self._iterator = self._new_iterator()
        try:
            response = self.kinesis.get_records(ShardIterator=self._iterator, Limit=self.limit,
                                                StreamARN=self.stream_arn)
        except self.kinesis.exceptions.ExpiredIteratorException:
            self._iterator = self._new_iterator()
            return [], False
        self._iterator = response.get("NextShardIterator")
        self.ended = self._iterator is None
        returned = response.get("Records", [])
        raw_records = _within_call_limit(returned)
        if len(raw_records) < len(returned):
            self._iterator = None  # the rest comes next call, after the last one kept
            self.ended = False
        if self.budget is not None:
            self.budget.record_call(sum(_raw_bytes(raw) for raw in raw_records))
        records = [self._record(raw) for raw in raw_records]
        if records:
            self.position = records[-1].sequence_number
        self.millis_behind_latest = int(response.get("MillisBehindLatest", 0))
        at_tip = (self.millis_behind_latest == 0 and len(raw_records) == len(returned)
                  and len(raw_records) < self.limit)
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


def _raw_bytes(raw: dict[str, Any]) -> int:
    return len(bytes(raw["Data"])) + len(str(raw["PartitionKey"]).encode())


def _within_call_limit(raw_records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leading records that fit in one GetRecords response (10 MiB; at least one)."""
    total = 0
    for index, raw in enumerate(raw_records):
        total += _raw_bytes(raw)
        if total > MAX_BYTES_PER_CALL and index > 0:
            return raw_records[:index]
    return raw_records
