"""What a stream shard consumer works with: the records read, the reader that reads them,
and the invocation log's entries (``stream_consumer`` applies Lambda's rules to them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record read from a shard, already shaped as the handler receives it."""

    position: int  # read order within the shard (0, 1, 2, ...)
    sequence_number: str
    partition_key: str  # what ParallelizationFactor keeps in order
    arrival: float  # epoch seconds (ApproximateArrivalTimestamp / ApproximateCreationDateTime)
    event: dict[str, Any]
    size: int  # bytes the record adds to the invocation payload


class ShardReader(Protocol):
    """Reads one shard of one source, in order, from a starting position or a checkpoint."""

    shard_id: str
    stream_arn: str  # eventSourceARN of windows, streamArn of on-failure records
    batch_info_key: str  # "KinesisBatchInfo" | "DDBStreamBatchInfo"
    poll_interval_s: float
    limit: int  # records per read

    @property
    def ended(self) -> bool:
        """A closed shard (a reshard's parent) read to its end: nothing more will come."""
        ...

    def read(self) -> tuple[list[StreamRecord], bool]:
        """The next records and whether this read reached the shard's newest record."""
        ...


@dataclass(frozen=True, slots=True)
class Invocation:
    """One entry of the invocation log (observability and tests)."""

    function: str
    mapping_uuid: str
    shard_id: str
    first_sequence: str | None
    last_sequence: str | None
    batch_size: int
    duration_ms: float
    outcome: str  # ok | partial | error
    error_type: str | None
    final_for_window: bool
    window_start: int | None
    at: float
    # Lambda's IteratorAge: how old the batch's last record was when it was sent.
    iterator_age_ms: float | None = None
