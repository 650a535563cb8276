"""DynamoDB Time to Live in the embedded AWS: expired items are deleted, as AWS does.

moto records a table's TTL setting (UpdateTimeToLive / DescribeTimeToLive) but never
deletes anything, so a local stack's tables only grew and nothing downstream of a TTL
deletion (a stream consumer that must ignore it, a reader that must not count on it)
was ever exercised. ``TtlSweeper`` is a driver component that deletes, every
``interval_s``, each item of a table whose TTL is ENABLED when the item's TTL attribute
(``AttributeName`` of the table's DescribeTimeToLive) is expired by AWS's rule:

* the attribute is a top-level Number (any other type, or a missing attribute, and the
  item never expires) holding epoch **seconds** less than the current time;
* it is not more than five years in the past (AWS ignores such values, e.g. a TTL
  written in milliseconds, or a date long gone, rather than delete the item).

AWS deletes expired items "typically within a few days", in the background; readers
must filter expired items (``lambdas/shared/retention.py``). The sweep is sooner than
AWS but never immediate, so a reader that forgets to filter still sees expired items
locally too.

Each deletion is a stream REMOVE record with the old image, whose ``userIdentity`` is
``{"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}`` in the DynamoDB Streams
API (Lambda's event carries it as ``{"type": "Service", "principalId":
"dynamodb.amazonaws.com"}``): what tells a TTL deletion from a user's DeleteItem.
``record_service_deletions`` must be installed before stream records are packed
(``embedded_memory.pack_dynamodb_stream_records``): a record does not change once built.
"""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shardline.local import embedded_streams
from shardline.local.embedded_items import (
    PEEK_PAGE,
    exclusive_table_access,
    peek_attributes,
)

log = logging.getLogger("shardline.embedded.ttl")

TTL_SERVICE_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
# AWS: a TTL more than five years in the past is ignored (not expired, not deleted).
IGNORED_AFTER_S = 5 * 365 * 86_400
DEFAULT_SWEEP_INTERVAL_S = 30.0

# Set while the sweep deletes: the stream records built meanwhile are TTL deletions.
_deleting_as_service: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "shardline_ttl_deletion", default=False)


def ttl_expired(value: Any, now: float) -> bool:
    """Whether a TTL attribute (moto ``DynamoType`` or None) makes its item expired."""
    if value is None or getattr(value, "type", None) != "N":
        return False
    try:
        expiry = Decimal(str(value.value))
    except (InvalidOperation, ValueError):
        return False
    return now - IGNORED_AFTER_S <= expiry < Decimal(str(now))


def record_service_deletions() -> None:
    """Stream records built during a sweep carry the TTL service's ``userIdentity``."""
    from moto.dynamodb.models.table import StreamRecord

    original_init = StreamRecord.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if _deleting_as_service.get():
            self.record["userIdentity"] = dict(TTL_SERVICE_IDENTITY)

    StreamRecord.__init__ = __init__


def _keys(table: Any) -> list[tuple[Any, Any]]:
    """(hash key, range key or None) of every item of ``table`` now."""
    keys: list[tuple[Any, Any]] = []
    for hash_key, stored in list(table.items.items()):
        if isinstance(stored, dict):  # hash and range key: {range key: item}
            keys.extend((hash_key, range_key) for range_key in list(stored))
        else:
            keys.append((hash_key, None))
    return keys


def _current(table: Any, hash_key: Any, range_key: Any) -> Any:
    stored = table.items.get(hash_key)
    return stored.get(range_key) if isinstance(stored, dict) else stored


def sweep_table(table: Any, now: float) -> int:
    """Delete the expired items of one moto table; how many were deleted.

    A page of items at a time under the table lock, so requests run between pages (a
    whole table at once held every request back for as long as the sweep took); each
    page reads the items as they are then, so an item rewritten since the sweep began
    is judged by its new TTL."""
    if table.ttl.get("TimeToLiveStatus") != "ENABLED":
        return 0
    attribute = table.ttl.get("AttributeName")
    if not attribute:
        return 0
    keys, deleted = _keys(table), 0
    for start in range(0, len(keys), PEEK_PAGE):
        with exclusive_table_access():
            token = _deleting_as_service.set(True)
            try:
                items = [item for key in keys[start:start + PEEK_PAGE]
                         if (item := _current(table, *key)) is not None]
                for item, value in zip(items, peek_attributes(items, attribute),
                                       strict=True):
                    if ttl_expired(value, now):
                        table.delete_item(item.hash_key, item.range_key)
                        deleted += 1
            finally:
                _deleting_as_service.reset(token)
    return deleted


def sweep_expired_items(now: float | None = None) -> int:
    """Delete the expired items of every table of every account and region."""
    from moto.dynamodb.models import dynamodb_backends

    now = embedded_streams.wall_clock() if now is None else now
    deleted = 0
    for account in list(dynamodb_backends.values()):
        for backend in list(account.values()):
            for table in list(backend.tables.values()):
                deleted += sweep_table(table, now)
    return deleted


@dataclass
class TtlSweeper:
    """The TTL deleter as a driver component: a sweep every ``interval_s``."""

    interval_s: float = DEFAULT_SWEEP_INTERVAL_S
    name: str = "dynamodb-ttl"

    def step(self, now: float) -> float:
        try:
            deleted = sweep_expired_items()
            if deleted:
                log.debug("TTL deleted %d expired items", deleted)
        except Exception:
            log.exception("the TTL sweep failed")
        return now + self.interval_s


__all__ = ["IGNORED_AFTER_S", "TTL_SERVICE_IDENTITY", "TtlSweeper", "record_service_deletions",
           "sweep_expired_items", "sweep_table", "ttl_expired"]
