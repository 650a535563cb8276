"""Stream state in the embedded AWS kept bounded, as AWS bounds it, for long-lived stacks.

moto keeps some stream state forever that AWS lets go of; a local stack left up for hours
then grows in memory and slows down. Each patch here makes moto do what AWS documents:

* DynamoDB Streams shard iterators expire 15 minutes after GetShardIterator or
  GetRecords returned them (moto kept every one, about 2 KB each: a mapping polling four
  times a second adds 14,400 an hour). An expired or unknown iterator gets
  ``ExpiredIteratorException``, which a reader answers with a new iterator.
* DynamoDB stream records older than 24 hours are trimmed, as AWS trims them: a reader
  positioned before the trim horizon continues from the oldest record still held
  (AWS would answer ``TrimmedDataAccessException``; a local stack that was left up for a
  day should not strand its own mappings). Sequence numbers do not change: a trimmed
  record leaves an empty slot (8 bytes) where about 2 KB of images were.
* Kinesis records older than the stream's retention period (24 hours unless raised) are
  trimmed, as AWS trims them; sequence numbers keep increasing after a trim. moto also
  found a shard's newest record by copying the list of its sequence numbers, and every
  GetRecords walked the shard from its oldest record, so each PutRecords and each poll
  cost time in proportion to everything the shard ever held (a stack slowed down the
  longer it ran): they now go straight to the record (moto numbers a shard's records
  one apart; where that does not hold, moto's own code runs).
* A DynamoDB Query on the table's key reads its partition. moto built and sorted a list
  of every item in the table for each Query (an index Query or a Scan must read them
  all), so a query's cost grew with the table — the rollup, querying a minute's
  partials, fell further behind the longer the stack ran — and a write landing during
  that walk failed the Query ("dictionary changed size during iteration"). Walks over
  the whole table now read a copy of it.

Installed once per process by ``shardline.local.embedded``; each patch is its own
function so patches from other concerns merge without conflicts.
"""

from __future__ import annotations

import contextvars
import inspect
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from shardline.local.embedded_items import items_may_hold

SHARD_ITERATOR_TTL_S = 15 * 60.0

# Monotonic seconds, and epoch seconds for record ages; tests replace them to move time.
now: Callable[[], float] = time.monotonic
wall_clock: Callable[[], float] = time.time


class ExpiringIterators(MutableMapping[str, Any]):
    """Shard iterators by id, forgotten ``ttl_s`` after they were issued.

    Ids are issued in time order, so expired entries are always at the front: each
    insertion drops them, which keeps the mapping as large as 15 minutes of polling.
    """

    def __init__(self, ttl_s: float = SHARD_ITERATOR_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._issued: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def __setitem__(self, key: str, value: Any) -> None:
        issued_at = now()
        self._issued.pop(key, None)
        self._issued[key] = (issued_at, value)
        self._expire(issued_at)

    def __getitem__(self, key: str) -> Any:
        issued_at, value = self._issued[key]
        if now() - issued_at >= self.ttl_s:
            raise KeyError(key)
        return value

    def __delitem__(self, key: str) -> None:
        del self._issued[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._issued)

    def __len__(self) -> int:
        return len(self._issued)

    def _expire(self, at: float) -> None:
        while self._issued:
            oldest = next(iter(self._issued.values()))[0]
            if at - oldest < self.ttl_s:
                return
            self._issued.popitem(last=False)


def expire_dynamodb_shard_iterators() -> None:
    """DynamoDB Streams shard iterators expire after 15 minutes, as AWS's do."""
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original_init = DynamoDBStreamsBackend.__init__

    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.shard_iterators = ExpiringIterators()

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        if not isinstance(self.shard_iterators, ExpiringIterators):  # made before the patch
            held, self.shard_iterators = self.shard_iterators, ExpiringIterators()
            self.shard_iterators.update(held)
        try:
            shard_iterator = self.shard_iterators[iterator_arn]
        except KeyError:
            # Iterators are random strings, so one moto does not hold was issued and
            # has expired (or was never valid): AWS answers both with a 400.
            raise JsonRESTError(
                "ExpiredIteratorException",
                "Iterator expired: shard iterators expire 15 minutes after they are "
                "returned; get a new one with GetShardIterator",
            ) from None
        return shard_iterator.get(limit)  # type: ignore[no-any-return]

    DynamoDBStreamsBackend.__init__ = __init__
    DynamoDBStreamsBackend.get_records = get_records


def bound_kinesis_shards() -> None:
    """Kinesis shards trim records past the stream's retention period, and find records
    by sequence number instead of walking the shard."""
    from moto.kinesis.models import Shard, Stream

    original_get_records = Shard.get_records
    original_stream_put = Stream.put_record

    def newest(shard: Any) -> int:
        """The last sequence number this shard handed out (0: none yet), trims included."""
        records = shard.records
        held = next(reversed(records)) if records else 0
        return max(held, getattr(shard, "_shardline_newest", 0))

    def put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
        from moto.kinesis.models import Record

        sequence_number = newest(self) + 1
        self.records[sequence_number] = Record(partition_key, data, sequence_number,
                                               explicit_hash_key)
        self._shardline_newest = sequence_number
        return str(sequence_number)

    def get_min_sequence_number(self: Any) -> int:
        return next(iter(self.records)) if self.records else 0

    def get_max_sequence_number(self: Any) -> int:
        return next(reversed(self.records)) if self.records else 0

    def get_records(self: Any, last_sequence_id: str,
                    limit: int | None) -> tuple[list[Any], int, int]:
        records = self.records
        last = int(last_sequence_id)
        if not records:
            return [], last, 0
        oldest, latest = next(iter(records)), next(reversed(records))
        if latest - oldest + 1 != len(records):  # not numbered one apart: moto's own walk
            return original_get_records(self, last_sequence_id, limit)  # type: ignore[no-any-return]
        start = max(last + 1, oldest)
        end = latest if not limit else min(latest, start + limit - 1)
        found = [record for record in (records.get(n) for n in range(start, end + 1))
                 if record is not None]  # a concurrent trim may take the oldest
        if not found:
            return [], last, 0
        behind_s = records[latest].created_at - found[-1].created_at
        return found, found[-1].sequence_number, int(behind_s * 1000)

    def stream_put_record(self: Any, partition_key: str, explicit_hash_key: str,
                          data: str) -> tuple[str, str]:
        result = original_stream_put(self, partition_key, explicit_hash_key, data)
        trim_expired_records(self.shards[result[1]], self.retention_period_hours)
        return result  # type: ignore[no-any-return]

    Shard.put_record = put_record
    Shard.get_min_sequence_number = get_min_sequence_number
    Shard.get_max_sequence_number = get_max_sequence_number
    Shard.get_records = get_records
    Stream.put_record = stream_put_record


def trim_expired_records(shard: Any, retention_hours: float) -> int:
    """Drop a shard's records older than the retention period; how many were dropped."""
    horizon = wall_clock() - retention_hours * 3600
    records = shard.records
    trimmed = 0
    while records:
        oldest = next(iter(records.values()))
        if oldest.created_at >= horizon:
            break
        records.popitem(last=False)
        trimmed += 1
    return trimmed


# The partition a Query on a table's own key reads, and its sort key condition as moto
# compares it ((comparison, values) or None), or None: the whole table.
_query_partition: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "shardline_query_partition", default=None)
# The (attribute, value) pairs an index Query's items must hold (None: any item).
_index_key: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "shardline_index_key", default=None)


def query_reads_its_partition() -> None:
    """A DynamoDB Query on the table's key reads that partition, not the whole table, and
    only the items its sort key condition matches, as AWS reads them; a walk over the
    whole table (index Query, Scan) reads a copy, safe from writers; an index Query's walk
    passes on only the items that may hold its key.

    moto reads every item of what it is given before comparing sort keys (it sums their
    sizes against the 1 MB page), which unpacks each item at rest: a Query for one
    device-minute read the device's whole history, and cost more each minute. AWS's
    1 MB counts the items the key condition matches, so the page ends where AWS's does."""
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    signature = inspect.signature(original_query)

    def all_items(self: Any) -> list[Any]:
        partition = _query_partition.get()
        if partition is not None:
            hash_key, range_condition = partition
            held = self.items.get(hash_key)
            if held is None:
                return []
            if not self.range_key_attr:
                return [held]
            items = list(held.values())
            if range_condition is not None:  # the key condition, on keys alone
                items = [item for item in items if item.range_key.compare(*range_condition)]
            return sorted(items, key=lambda item: item.range_key)
        items = []
        for held in list(self.items.values()):  # a copy: writers run on other threads
            items.extend(list(held.values()) if self.range_key_attr else [held])
        index_key = _index_key.get()
        if index_key is not None:  # moto checks the survivors; this skips the rest cheaply
            items = items_may_hold(items, index_key)
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key
                      else x.hash_key)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs)
        hash_key = call.arguments.get("hash_key")
        if call.arguments.get("index_name"):
            variable, value = _index_key, call.arguments.get("hash_key_conditions") or None
        elif hash_key is None:
            variable, value = _query_partition, None
        else:
            comparison = call.arguments.get("range_comparison")
            variable, value = _query_partition, (hash_key, None if not comparison else (
                comparison, call.arguments.get("range_objs")))
        if value is None:
            return original_query(self, *args, **kwargs)
        token = variable.set(value)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            variable.reset(token)

    Table.all_items = all_items
    Table.query = query


DYNAMODB_STREAM_RETENTION_S = 24 * 3600.0


def trim_dynamodb_stream_records() -> None:
    """DynamoDB stream records are trimmed after 24 hours; readers skip the gap."""
    from moto.dynamodb.models.table import StreamShard

    original_add = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        trim_stream_shard(self)

    def get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        first = self.starting_sequence_number
        offset = max(start - first, getattr(self, "_shardline_trimmed", 0))
        # A concurrent trim may empty a slot of the slice: it is skipped like the others.
        return [record.to_json() for record in self.items[offset:offset + quantity]
                if record is not None]

    StreamShard.add = add
    StreamShard.get = get


def trim_stream_shard(shard: Any) -> int:
    """Empty the slots of a DynamoDB stream shard's records older than 24 hours; how many
    were trimmed. Slots keep sequence numbers equal to positions."""
    horizon = wall_clock() - DYNAMODB_STREAM_RETENTION_S
    items = shard.items
    trimmed = start = getattr(shard, "_shardline_trimmed", 0)
    while trimmed < len(items):
        if items[trimmed].created_at >= horizon:  # epoch seconds (embedded_memory)
            break
        trimmed += 1
    shard._shardline_trimmed = trimmed  # readers skip first, then the slots are emptied
    for index in range(start, trimmed):
        items[index] = None
    return trimmed - start
