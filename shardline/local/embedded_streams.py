"""Stream state in the embedded AWS kept bounded, as AWS bounds it, for long-lived stacks.

moto keeps some stream state forever that AWS lets go of; a local stack left up for hours
then grows in memory and slows down. Each patch here makes moto do what AWS documents:

* DynamoDB Streams shard iterators expire 15 minutes after GetShardIterator or
  GetRecords returned them (moto kept every one, about 2 KB each: a mapping polling four
  times a second adds 14,400 an hour). An expired or unknown iterator gets
  ``ExpiredIteratorException``, which a reader answers with a new iterator.

Installed once per process by ``shardline.local.embedded``; each patch is its own
function so patches from other concerns merge without conflicts.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

SHARD_ITERATOR_TTL_S = 15 * 60.0

# Monotonic seconds; tests replace it to move time forward.
now: Callable[[], float] = time.monotonic


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
