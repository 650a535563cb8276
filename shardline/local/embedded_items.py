"""DynamoDB items held packed, on disk, by the embedded AWS between the requests that use
them.

moto holds an item as an ``Item`` whose ``attrs`` map names to ``DynamoType`` objects:
about 3 KB of Python objects for a 0.5 KB aggregate. A table is data AWS holds for as long
as the table lives, so a local stack's memory grew with every item written. Here an item
at rest holds only its keys and a ``StoredRow``: the id of its attributes, marshalled
(about 0.4 KB), in the process's ``ItemStore`` (``embedded_item_store``: sqlite on disk,
new rows and the rows used last in memory). ``attrs`` is unpacked when a request first reads it:

* ``Item.attrs`` is a property: it unpacks on first use and caches the result on the
  item, noting the item in the current DynamoDB request's scope;
* when the request ends (``DynamoHandler.call_action`` returns), each item it used drops
  its cache, and an item created or changed by the request is packed first. An item used
  outside any request (a test reading moto directly) keeps its cache;
* moto changes a stored item in place only in UpdateItem (a transaction's updates go
  through it too), and it first stores a new item with its keys only, then sets its
  attributes. On AWS a read sees an item before or after a write, never in between. So
  a DynamoDB request holds ``_table_lock`` from its start until its items are settled,
  and so do the backend's item methods called outside a request (the TTL sweep, a test
  reading moto directly): a Scan never returns a half-written item, and no request
  drops caches while an update runs, so an update never writes to a cache that is
  being dropped. The lock is one re-entrant lock, not a readers-writer lock: under the
  GIL shared reads gain next to nothing, and a readers-writer lock built on a Python
  condition woke every waiting request on each release. With a whole fleet's
  environments writing at once, over a hundred requests waited on it and the stack
  spent its time waking them (the rollup stopped keeping pace, functions timed out);
* a deep copy of an item at rest shares its row (moto copies an item on every update):
  a row never changes, a changed item is packed into a new one.

``items_may_hold`` lets a walk over the whole table (an index Query) skip items at rest
without reading or unpacking them: a string attribute equal to a value has that value's
UTF-8 bytes in the item's packed bytes (marshal stores strings as they are,
uncompressed), which sqlite finds in one pass over the rows.

Installed once per process by ``shardline.local.embedded``.
"""

from __future__ import annotations

import contextvars
import marshal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from shardline.local.embedded_item_store import item_store

PEEK_PAGE = 500  # rows read at once by ``peek_attributes``

# Items whose attributes the current DynamoDB request unpacked or set (None: no request).
_request_items: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "shardline_request_items", default=None)


# Every DynamoDB request, and the backend's item methods, hold it (see the module notes).
_table_lock = threading.RLock()
# Held while a thread sets the attributes it unpacked (the first set wins).
_unpack_lock = threading.Lock()


def _packed_value(value: Any) -> tuple[str, Any]:
    """A ``DynamoType`` as (type, value) of builtins; lists and maps nest."""
    inner = value.value
    if value.type == "L":
        inner = [_packed_value(element) for element in inner]
    elif value.type == "M":
        inner = {name: _packed_value(element) for name, element in inner.items()}
    elif isinstance(inner, list):  # a set: moto shares nothing with a packed copy
        inner = list(inner)
    return value.type, inner


def _unpacked_value(packed: tuple[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    value = DynamoType.__new__(DynamoType)  # as moto's own deep copy builds one
    value.type, inner = packed
    if value.type == "L":
        inner = [_unpacked_value(element) for element in inner]
    elif value.type == "M":
        inner = {name: _unpacked_value(element) for name, element in inner.items()}
    value.value = inner
    return value


def pack_attributes(attrs: dict[str, Any]) -> bytes:
    """An item's attributes as bytes (``unpack_attributes`` gives back equal ones)."""
    return marshal.dumps({name: _packed_value(value) for name, value in attrs.items()})


def unpack_attributes(packed: bytes) -> Any:
    """moto's attribute dict (a ``LimitedSizeDict``) for packed attributes. Its size was
    checked when the item was written, so it is filled without checking it again."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(attrs, ((name, _unpacked_value(value))
                        for name, value in marshal.loads(packed).items()))
    return attrs


def _note_in_request(item: Any) -> None:
    used = _request_items.get()
    if used is not None:
        used.append(item)


def _get_attrs(item: Any) -> Any:
    # Attributes, not ``item.__dict__``: reading that makes a dict for the item (~0.1 KB).
    attrs = getattr(item, "_attrs", None)
    if attrs is None:
        unpacked = unpack_attributes(item_store().read(item._row))
        # Two threads may unpack at once: the first cache set wins, so an update never
        # writes to a copy that another reader then replaces.
        with _unpack_lock:
            attrs = getattr(item, "_attrs", None)
            if attrs is None:
                item._attrs = attrs = unpacked
        _note_in_request(item)
    return attrs


def _set_attrs(item: Any, attrs: Any) -> None:
    item._attrs = attrs
    item._row = None  # changed: packed again when its request ends
    _note_in_request(item)


def settle(items: list[Any]) -> None:
    """Pack the items a request created or changed, and drop every unpacked cache."""
    if not items:
        return
    with _table_lock:
        for item in items:
            attrs = getattr(item, "_attrs", None)
            if attrs is None:
                continue  # noted twice, or dropped already
            if getattr(item, "_row", None) is None:
                item._row = item_store().add(pack_attributes(attrs))
            item._attrs = None


def _at_rest(item: Any) -> bool:
    return getattr(item, "_attrs", None) is None and getattr(item, "_row", None) is not None


def items_may_hold(items: list[Any], key: Iterable[tuple[str, Any]]) -> list[Any]:
    """``items`` less those that surely have no attribute ``name`` equal to ``value`` for
    some (name, value) of ``key``; in their order."""
    key = list(key)
    needles = [value.value.encode("utf-8") for _, value in key if value.type == "S"]
    # numbers compare by value ("1.0" == "1"): their bytes cannot tell
    holding = item_store().holding(needles) if needles else None
    kept = []
    for item in items:
        if not _at_rest(item):
            if all(_holds(item.attrs.get(name), value) for name, value in key):
                kept.append(item)
        elif holding is None or item._row in holding:
            kept.append(item)
    return kept


def _holds(held: Any, value: Any) -> bool:
    return held is not None and bool(held == value)


def peek_attributes(items: list[Any], name: str) -> Iterator[Any]:
    """One attribute of each of ``items`` (moto ``DynamoType`` or None), read without
    caching the unpacked items, a page of rows at a time: what a walk over every item at
    rest (the TTL sweep) needs."""
    for start in range(0, len(items), PEEK_PAGE):
        page = items[start:start + PEEK_PAGE]
        rows = item_store().read_many(item._row for item in page
                                      if _at_rest(item))
        for item in page:
            if not _at_rest(item):
                yield item.attrs.get(name)
                continue
            packed = marshal.loads(rows[item._row]).get(name)
            yield None if packed is None else _unpacked_value(packed)


def exclusive_table_access() -> AbstractContextManager[Any]:
    """The lock DynamoDB requests hold (``with exclusive_table_access():``)."""
    return _table_lock


def pack_items_at_rest() -> None:
    """Install the property, the request scope, the update lock, the cheap deep copy and
    the shared partition keys."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    Item.attrs = property(_get_attrs, _set_attrs)
    Item.__deepcopy__ = _sharing_deepcopy(Item.__deepcopy__)
    DynamoDBBackend.update_item = _locked_update(DynamoDBBackend.update_item)
    for name in ("put_item", "delete_item", "transact_write_items",
                 "get_item", "query", "scan"):
        setattr(DynamoDBBackend, name, _exclusive(getattr(DynamoDBBackend, name)))
    DynamoHandler.call_action = _request_scope(DynamoHandler.call_action)
    Table.put_item = _sharing_partition_key(Table.put_item)


def _sharing_deepcopy(original: Callable[..., Any]) -> Callable[..., Any]:
    def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
        if not _at_rest(self):
            return original(self, memo)
        result = self.__class__.__new__(self.__class__)
        memo[id(self)] = result
        result.hash_key, result.range_key = self.hash_key, self.range_key  # never changed
        result._attrs, result._row = None, self._row  # the order moto's items set them in
        return result

    return __deepcopy__


def _sharing_partition_key(original: Callable[..., Any]) -> Callable[..., Any]:
    """A new item of a partition holding others takes their partition key object: the
    items of a partition hold one key between them, not one each (~0.2 KB an item)."""

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original(self, *args, **kwargs)
        if self.range_key_attr is not None:
            for other in self.items.get(item.hash_key, {}).values():
                if other is not item:
                    item.hash_key = other.hash_key  # equal, and never changed
                    break
        return item

    return put_item


def _exclusive(original: Callable[..., Any]) -> Callable[..., Any]:
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _table_lock:
            return original(self, *args, **kwargs)

    return locked


def _locked_update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _table_lock:
            item = original(self, *args, **kwargs)
            if item is not None:
                _set_attrs(item, item.attrs)  # changed in place: pack it again
            return item

    return update_item


def _request_scope(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_action(self: Any) -> Any:
        used: list[Any] = []
        token = _request_items.set(used)
        with _table_lock:
            try:
                return original(self)
            finally:
                _request_items.reset(token)
                settle(used)

    return call_action
