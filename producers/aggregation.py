"""KPL-style aggregation in the producer: many user records per Kinesis record, per shard.

A Kinesis shard takes at most 1,000 records/s however small they are, and every record
costs per-record work on both sides of the stream; telemetry records are ~150 bytes. The
KPL's answer is aggregation (AWS-SEMANTICS.md): pack user records into one Kinesis record
(magic ``F3 89 9A C2``, a protobuf ``AggregatedRecord``, the MD5 of the protobuf). The
format is written by ``aws_kinesis_agg.aggregator.AggRecord``, the same library the
aggregator Lambda reads it with; it is not re-implemented here.

Aggregates are built **per shard**. Kinesis routes a record by one hash key, so an
aggregate mixing devices of several shards would move some devices off their shard and
break per-device order. The producer reads the open shards' hash-key ranges (ListShards),
computes each user record's hash key the way Kinesis does (MD5 of the partition key as a
128-bit big-endian integer), and puts each aggregate with ``ExplicitHashKey`` = its
shard's starting hash key and the partition key of its first user record.

Order per device: a device's records all go to one shard, in input order inside an
aggregate and across aggregates, because the publisher orders aggregates by shard and
sends at most one aggregate per shard per PutRecords call (a partly failed call cannot
let a later aggregate of a shard overtake a failed earlier one). That costs nothing that
matters: a shard takes 1 MiB/s, i.e. about twenty 50 KiB aggregates per second.

Shard map freshness: the map is read once, lazily, and re-read before the next ``publish``
when (a) a put landed on a shard other than the one the map predicted — what Kinesis does
after a split or merge, where a hash key of a closed parent is routed to the open child
that now owns it (the KPL invalidates its shard map on the same signal), or (b) a publish
failed (the stream may have been deleted, recreated or resharded). Records aggregated with
a stale map are still accepted; only the devices whose shard changed may see their
records of that one transition on a sibling shard, as with the KPL.

Sizes: an aggregate is capped at ``max_aggregate_bytes`` counting its data and its
partition key, as Kinesis counts a record (default 51,200, the KPL's AggregationMaxSize;
never above the stream's record limit). A user record too big for an empty aggregate, and
an aggregate that ends up holding one user record, go as plain records (the KPL does the
same; the aggregator Lambda accepts both). A PutRecords call then carries at most one
aggregate per shard, well under the 10 MiB call limit and moto's 5 MiB one for streams of
up to ~100 shards at the default cap.

On the embedded AWS (moto 5.2.5): ExplicitHashKey routes as on AWS, but after a split or
merge moto keeps writing to the closed parent (it takes the first shard whose range holds
the hash key, open or not), so every put there counts as ``unexpected_shard`` and the map
is re-read before each publish — harmless, one ListShards per publish.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_kinesis_agg.aggregator import AggRecord
from botocore.exceptions import BotoCoreError, ClientError

from producers.publisher import KinesisPublisher, PublishError, PublishReport
from producers.put_entries import EntryLike, PutEntry, coerce_entries
from producers.readback import list_shards

HASH_KEY_LIMIT = 2**128  # hash keys are 0 .. 2**128 - 1
# The KPL's default AggregationMaxSize: big enough to amortise per-record costs, small
# enough that a failed aggregate is cheap to resend whole.
DEFAULT_MAX_AGGREGATE_BYTES = 51_200


def hash_key(partition_key: str) -> int:
    """The 128-bit hash key Kinesis routes ``partition_key`` by: MD5 as a big-endian int."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


class ShardMapError(ValueError):
    """ListShards described open shards that do not cover the hash-key space exactly."""


@dataclass(frozen=True, slots=True)
class ShardRange:
    """One open shard and the hash keys it owns (both ends inclusive, as Kinesis says)."""

    shard_id: str
    starting_hash_key: int
    ending_hash_key: int

    def __contains__(self, key: int) -> bool:
        return self.starting_hash_key <= key <= self.ending_hash_key


@dataclass(frozen=True)
class ShardMap:
    """The open shards of a stream, sorted by hash key, covering 0 .. 2**128 - 1."""

    shards: tuple[ShardRange, ...]
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.shards, key=lambda shard: shard.starting_hash_key))
        expected_start = 0
        for shard in ordered:
            if shard.starting_hash_key != expected_start or shard.ending_hash_key < (
                shard.starting_hash_key
            ):
                raise ShardMapError(
                    f"open shards do not tile the hash-key space: {shard.shard_id} covers "
                    f"{shard.starting_hash_key}..{shard.ending_hash_key}, expected a range "
                    f"starting at {expected_start}"
                )
            expected_start = shard.ending_hash_key + 1
        if expected_start != HASH_KEY_LIMIT:
            raise ShardMapError(f"open shards end at hash key {expected_start - 1}, "
                                f"not {HASH_KEY_LIMIT - 1}")
        object.__setattr__(self, "shards", ordered)
        object.__setattr__(self, "_starts", tuple(s.starting_hash_key for s in ordered))

    @classmethod
    def from_list_shards(cls, shards: Iterable[Mapping[str, Any]]) -> ShardMap:
        """Build the map from ListShards' ``Shards`` entries, open and closed alike.

        A closed shard (a split or merged parent) has an ``EndingSequenceNumber``; its
        range overlaps its children's and no new record can go to it, so it is left out.
        """
        return cls(tuple(
            ShardRange(
                shard["ShardId"],
                int(shard["HashKeyRange"]["StartingHashKey"]),
                int(shard["HashKeyRange"]["EndingHashKey"]),
            )
            for shard in shards
            if "EndingSequenceNumber" not in shard.get("SequenceNumberRange", {})
        ))

    def shard_for_hash(self, key: int) -> ShardRange:
        if not 0 <= key < HASH_KEY_LIMIT:
            raise ValueError(f"hash key {key} is outside 0..2**128-1")
        return self.shards[bisect.bisect_right(self._starts, key) - 1]

    def shard_for(self, partition_key: str) -> ShardRange:
        """The shard Kinesis puts a record with ``partition_key`` (and no explicit hash
        key) on."""
        return self.shard_for_hash(hash_key(partition_key))


def read_shard_map(client: Any, stream_name: str) -> ShardMap:
    """The stream's open shards, from ListShards (paged). ``stream_name`` may be an ARN."""
    return ShardMap.from_list_shards(list_shards(client, stream_name))


# -- pure aggregation ---------------------------------------------------------------------


class _ShardAggregate:
    """The aggregate being filled for one shard."""

    def __init__(self, shard: ShardRange, max_bytes: int) -> None:
        self.shard = shard
        self.max_bytes = max_bytes
        self.entries: list[PutEntry] = []
        self._record: AggRecord | None = None

    def add(self, entry: PutEntry) -> bool:
        """Add ``entry`` if the aggregate stays within its cap; False if it does not fit."""
        key = entry.partition_key.encode("utf-8")
        if self._record is None:
            # Kinesis counts the record's partition key against its size limit; the
            # aggregate's key is its first user record's, so it is known from here on.
            self._record = AggRecord(max_size=self.max_bytes - len(key))
        try:
            # Bytes keys: AggRecord then recognises repeated keys when it estimates sizes
            # (with str keys it counts every repeated key as new, overestimating by ~7 %
            # for telemetry), so its size accounting is exact.
            added = self._record.add_user_record(key, bytes(entry.data))
        except ValueError:  # too big for any aggregate of this cap
            added = False
        if added:
            self.entries.append(entry)
        elif not self.entries:
            self._record = None
        return added

    def finish(self) -> PutEntry:
        """The Kinesis record to put; its payload is the tuple of user entries it carries."""
        shard_id = self.shard.shard_id
        if len(self.entries) == 1:
            return _alone(self.entries[0], self.shard)
        assert self._record is not None
        _key, _ehk, data = self._record.get_contents()
        return PutEntry(
            self.entries[0].partition_key,
            data,
            payload=tuple(self.entries),
            explicit_hash_key=str(self.shard.starting_hash_key),
            ordering_key=shard_id,
            user_records=len(self.entries),
            expected_shard_id=shard_id,
        )


def _alone(entry: PutEntry, shard: ShardRange) -> PutEntry:
    """A user record sent as a plain Kinesis record; its own key routes it to ``shard``."""
    return PutEntry(
        entry.partition_key,
        entry.data,
        payload=(entry,),
        ordering_key=shard.shard_id,
        expected_shard_id=shard.shard_id,
    )


def aggregate_by_shard(
    entries: Iterable[PutEntry],
    shard_map: ShardMap,
    *,
    max_aggregate_bytes: int = DEFAULT_MAX_AGGREGATE_BYTES,
) -> list[PutEntry]:
    """Pack user records into Kinesis records, one shard's user records per record.

    Returns the Kinesis records in an order that keeps each shard's user records in input
    order (so each device's). Every record's ``payload`` is the tuple of user entries it
    carries, ``ordering_key`` and ``expected_shard_id`` its shard.
    """
    records: list[PutEntry] = []
    filling: dict[str, _ShardAggregate] = {}
    for entry in entries:
        shard = shard_map.shard_for(entry.partition_key)
        current = filling.get(shard.shard_id)
        if current is not None and current.add(entry):
            continue
        if current is not None:
            records.append(current.finish())
        fresh = _ShardAggregate(shard, max_aggregate_bytes)
        if fresh.add(entry):
            filling[shard.shard_id] = fresh
        else:
            filling.pop(shard.shard_id, None)
            records.append(_alone(entry, shard))
    records.extend(aggregate.finish() for aggregate in filling.values())
    return records


def user_entries(records: Iterable[PutEntry]) -> list[PutEntry]:
    """The user entries carried by Kinesis records built by ``aggregate_by_shard``."""
    return [user for record in records for user in record.payload]


# -- the publisher ------------------------------------------------------------------------


class AggregatingPublisher:
    """Publishes user records KPL-aggregated per shard through a ``KinesisPublisher``.

    Retries, backoff and error reporting are the wrapped publisher's: a failed aggregate
    is retried whole. ``on_accepted`` and the report count *user* records, each once, when
    the aggregate carrying it is accepted. Each ``publish`` sends everything it was given
    (nothing lingers in a buffer), so a manifest built from ``on_accepted`` stays exact.
    """

    def __init__(
        self,
        publisher: KinesisPublisher,
        *,
        max_aggregate_bytes: int = DEFAULT_MAX_AGGREGATE_BYTES,
        load_shard_map: Callable[[], ShardMap] | None = None,
    ) -> None:
        if not 64 <= max_aggregate_bytes <= publisher.max_record_bytes:
            raise ValueError(
                f"max_aggregate_bytes must be in 64..{publisher.max_record_bytes} "
                f"(the stream's record limit)"
            )
        self._publisher = publisher
        self.max_aggregate_bytes = max_aggregate_bytes
        self._load_shard_map = load_shard_map or (
            lambda: read_shard_map(publisher.client, publisher.stream_name)
        )
        self._shard_map: ShardMap | None = None
        self.shard_map_loads = 0

    @property
    def stream_name(self) -> str:
        return self._publisher.stream_name

    @property
    def report(self) -> PublishReport:
        """Everything published so far (the wrapped publisher's running report)."""
        return self._publisher.report

    @property
    def shard_map(self) -> ShardMap | None:
        """The map the next ``publish`` uses; ``None`` until loaded or after invalidation."""
        return self._shard_map

    def refresh_shard_map(self) -> ShardMap:
        self._shard_map = self._load_shard_map()
        self.shard_map_loads += 1
        return self._shard_map

    def publish(
        self,
        entries: Iterable[EntryLike],
        *,
        on_accepted: Callable[[PutEntry], None] | None = None,
    ) -> PublishReport:
        """Aggregate ``entries`` per shard and put them; same contract as
        ``KinesisPublisher.publish``, in user records (``PublishError.unaccepted`` holds
        the user entries not accepted, in input order)."""
        users = coerce_entries(entries, self._publisher.max_record_bytes)
        if not users:
            return PublishReport()
        try:
            shard_map = self._shard_map or self.refresh_shard_map()
        except (ClientError, BotoCoreError) as exc:
            raise PublishError(
                f"{len(users)} records not accepted by stream {self.stream_name!r}: "
                f"cannot read its shards: {exc}",
                users,
                PublishReport(),
            ) from exc
        records = aggregate_by_shard(
            users, shard_map, max_aggregate_bytes=self.max_aggregate_bytes
        )
        try:
            report = self._publisher.publish(
                records,
                on_accepted=None if on_accepted is None else _each_user_record(on_accepted),
                max_per_key_per_call=1,
            )
        except PublishError as exc:
            # Deleted, recreated or resharded streams all start with a failed put; the next
            # publish (the caller's re-drive) reads the shards again.
            self._shard_map = None
            raise _in_user_records(exc, users) from exc
        if report.unexpected_shard:
            self._shard_map = None
        return report


def _each_user_record(on_accepted: Callable[[PutEntry], None]) -> Callable[[PutEntry], None]:
    def on_record_accepted(record: PutEntry) -> None:
        for user in record.payload:
            on_accepted(user)

    return on_record_accepted


def _in_user_records(exc: PublishError, users: Sequence[PutEntry]) -> PublishError:
    position = {id(user): index for index, user in enumerate(users)}
    unaccepted = sorted(user_entries(exc.unaccepted), key=lambda user: position[id(user)])
    return PublishError(
        f"{len(unaccepted)} user records (in {len(exc.unaccepted)} aggregated Kinesis "
        f"records) not accepted: {exc}",
        unaccepted,
        exc.report,
    )


__all__ = [
    "DEFAULT_MAX_AGGREGATE_BYTES",
    "HASH_KEY_LIMIT",
    "AggregatingPublisher",
    "ShardMap",
    "ShardMapError",
    "ShardRange",
    "aggregate_by_shard",
    "hash_key",
    "read_shard_map",
    "user_entries",
]
