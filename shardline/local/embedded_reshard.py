"""Kinesis resharding in the embedded AWS, as AWS documents it.

moto splits and merges shards, but not as Kinesis does: a split re-put the parent's
records into the children (new sequence numbers, new arrival times, read twice by a
consumer that had read them in the parent), a merge copied both parents' records into
the child while the parents kept them, new records could still land in a closed
parent (records were routed to the first shard whose hash range held the key, closed or
not), GetRecords never said a closed shard had ended, and UpdateShardCount had no
limits. Each patch here makes moto do what the Kinesis developer guide ("Reshard a
stream", "Complete the resharding action") and API reference (SplitShard, MergeShards,
UpdateShardCount, GetRecords) document:

* a parent shard is closed and keeps its records until they expire; its children start
  empty and take every record written after the reshard; a child's sequence numbers
  follow its parents' (moto numbers each shard's records one apart);
* records are routed to the open shard whose hash key range holds the key;
* GetRecords on a closed shard returns no ``NextShardIterator`` once the iterator has
  passed its last record (a null next iterator is how the API says a shard ended); the
  child shards are found with ListShards
  (``ChildShards`` in the response is not modelled);
* merging or splitting a closed shard is refused (``InvalidArgumentException``), as are
  shards that are not adjacent;
* a split or merge and the records written meanwhile take turns (one lock per process):
  a record lands in the parent before it closes or in a child after, never in between;
* UpdateShardCount refuses, with ``LimitExceededException``, a target above double or
  below half the open shard count, and an eleventh scaling within a rolling 24 hours
  (the API's default limits; AWS can raise them on request, the local stack cannot).

Installed once per process by ``shardline.local.embedded``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from shardline.local import embedded_streams

SCALINGS_PER_DAY = 10
DAY_S = 24 * 3600.0
HASH_KEYS = 2**128
# Held while a stream's shards change and while a record is routed and appended.
_RESHARD_LOCK = threading.RLock()


def reshard_as_aws() -> None:
    """Install the patches (idempotent per process)."""
    from moto.kinesis.models import KinesisBackend, Stream

    if getattr(Stream, "_shardline_reshard", False):
        return
    Stream._shardline_reshard = True
    _keep_parent_records(Stream)
    Stream.put_record = _locked(Stream.put_record)
    Stream.get_shard_for_key = _open_shard_for_key
    KinesisBackend.get_records = _ending_get_records(KinesisBackend.get_records)
    KinesisBackend.update_shard_count = _limited_update_shard_count(
        KinesisBackend.update_shard_count)


def _locked(original: Callable[..., Any]) -> Callable[..., Any]:
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _RESHARD_LOCK:
            return original(*args, **kwargs)

    return locked


@contextmanager
def _records_held_aside(*shards: Any) -> Iterator[None]:
    """moto's split/merge run on empty parents (so nothing is copied); then the parents
    get their records back."""
    held = [(shard, shard.records) for shard in shards]
    for shard in shards:
        shard.records = OrderedDict()
    try:
        yield
    finally:
        for shard, records in held:
            shard.records = records


def _newest(shard: Any) -> int:
    records = shard.records
    held = next(reversed(records)) if records else 0
    return max(held, getattr(shard, "_shardline_newest", 0))


def _new_children(stream: Any, before: set[str], parents: list[Any]) -> None:
    """Children number their records after their parents' last sequence number."""
    after = max(_newest(parent) for parent in parents)
    for shard_id, shard in stream.shards.items():
        if shard_id not in before:
            shard._shardline_newest = after


def _keep_parent_records(stream_cls: Any) -> None:
    from moto.kinesis.exceptions import InvalidArgumentError

    original_split = stream_cls.split_shard
    original_merge = stream_cls.merge_shards

    def split_shard(self: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
        shard = self.get_shard(shard_to_split)
        before = set(self.shards)
        with _records_held_aside(shard):
            original_split(self, shard_to_split, new_starting_hash_key)
        _new_children(self, before, [shard])

    def merge_shards(self: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
        first = self.get_shard(shard_to_merge)
        second = self.get_shard(adjacent_shard_to_merge)
        for shard in (first, second):
            if not shard.is_open:
                raise InvalidArgumentError(
                    f"Shard {shard.shard_id} in stream {self.stream_name} has already been "
                    "merged or split, and thus is not eligible for merging or splitting.")
        if first.starting_hash > second.starting_hash:
            first, second = second, first
        if first.ending_hash + 1 != second.starting_hash:
            raise InvalidArgumentError(
                f"Shards {shard_to_merge} and {adjacent_shard_to_merge} in stream "
                f"{self.stream_name} are not adjacent.")
        before = set(self.shards)
        with _records_held_aside(first, second):
            original_merge(self, first.shard_id, second.shard_id)
        _new_children(self, before, [first, second])

    stream_cls.split_shard = _locked(split_shard)
    stream_cls.merge_shards = _locked(merge_shards)


def _open_shard_for_key(self: Any, partition_key: str, explicit_hash_key: str) -> Any:
    """The open shard whose hash key range (both ends included) holds the record's key."""
    from moto.kinesis.exceptions import InvalidArgumentError
    from moto.utilities.utils import md5_hash

    if not isinstance(partition_key, str) or len(partition_key) > 256:
        raise InvalidArgumentError("partition_key")
    if explicit_hash_key:
        key = int(explicit_hash_key)
        if not 0 <= key < HASH_KEYS:
            raise InvalidArgumentError("explicit_hash_key")
    else:
        key = int(md5_hash(partition_key.encode("utf-8")).hexdigest(), 16)
    for shard in self.shards.values():
        if shard.is_open and shard.starting_hash <= key <= shard.ending_hash:
            return shard
    return None


def _ending_get_records(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_records(self: Any, stream_arn: str | None, shard_iterator: str,
                    limit: int | None) -> tuple[str | None, list[Any], int]:
        from moto.kinesis.utils import decompose_shard_iterator

        next_iterator, records, behind = original(self, stream_arn, shard_iterator, limit)
        stream_name, shard_id, last = decompose_shard_iterator(shard_iterator)
        shard = self.describe_stream(stream_arn=stream_arn,
                                     stream_name=stream_name).get_shard(shard_id)
        position = int(records[-1].sequence_number) if records else int(last)
        held = shard.records
        if not shard.is_open and (not held or position >= next(reversed(held))):
            return None, records, 0
        return next_iterator, records, behind

    return get_records


def _limited_update_shard_count(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_shard_count(self: Any, stream_arn: str, stream_name: str,
                           target_shard_count: int) -> int:
        from moto.kinesis.exceptions import InvalidArgumentError

        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        current = sum(1 for shard in stream.shards.values() if shard.is_open)
        if target_shard_count < 1:
            raise InvalidArgumentError("TargetShardCount must be at least 1.")
        if target_shard_count > 2 * current or target_shard_count < math.ceil(current / 2):
            raise _limit_exceeded(
                f"UpdateShardCount cannot scale stream {stream.stream_name} from {current} "
                f"to {target_shard_count} shards: the target must be between half and "
                "double the current shard count.")
        now = embedded_streams.wall_clock()
        recent = [at for at in getattr(stream, "_shardline_scalings", []) if now - at < DAY_S]
        if len(recent) >= SCALINGS_PER_DAY and target_shard_count != current:
            raise _limit_exceeded(
                f"UpdateShardCount cannot scale stream {stream.stream_name} more than "
                f"{SCALINGS_PER_DAY} times in a rolling 24-hour period.")
        with _RESHARD_LOCK:  # its splits and merges as one change
            result = original(self, stream_arn, stream_name, target_shard_count)
        if target_shard_count != current:
            stream._shardline_scalings = [*recent, now]
        return int(result)

    return update_shard_count


def _limit_exceeded(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("LimitExceededException", message)
