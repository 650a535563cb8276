"""What moto keeps in memory per object, cut to what a long-lived local stack needs.

A stack left up at a steady rate grew by about 30 KB of moto objects per DynamoDB item
written, most of it not data AWS would hold:

* **moto kept every model object it ever made.** ``BaseModel.__new__`` appends each
  instance to its class's ``instances_tracked`` list, for moto's dashboard
  (``/moto-api/data.json``). Nothing else reads the list, yet it pins every object for the
  life of the process: each DynamoDB item ever replaced and each copy moto makes of an item
  on UpdateItem, every stream record and Kinesis record ever trimmed, every SQS message
  ever deleted. The list now holds weak references: the dashboard still lists every live
  object, and an object nothing else holds is freed.
* **A DynamoDB stream record was a tree of small dicts** (its keys and OLD/NEW images in
  the wire format, about 6 KB of Python objects for a 0.9 KB record). A record never
  changes once written, so it is packed (pickled, zlib-compressed: about 0.45 KB) as soon
  as moto has built it, kept in that form (on disk: ``embedded_spill``) and unpacked when
  read; a reader gets a record equal to the one moto built.
* **A Kinesis record's data was kept as the base64 text of the request** (4/3 of the
  bytes). It is kept as the bytes, zlib-compressed: a KPL-aggregated record of JSON
  readings (what ``shardline simulate`` sends) takes about a fifth of what it did.

Installed once per process by ``shardline.local.embedded``.
"""

from __future__ import annotations

import base64
import pickle
import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

FIRST_PRUNE_AT = 64


class WeakInstances:
    """A model class's tracked instances, held weakly: iterating yields the live ones.

    Dead references are dropped when the list has doubled since the last pruning, so it
    stays within twice the live instances (plus a few) at an amortised constant cost.
    """

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._refs: list[weakref.ref[Any]] = []
        self._prune_at = FIRST_PRUNE_AT
        self._lock = threading.Lock()
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        with self._lock:
            self._refs.append(weakref.ref(instance))
            if len(self._refs) >= self._prune_at:
                self._refs = [ref for ref in self._refs if ref() is not None]
                self._prune_at = max(FIRST_PRUNE_AT, 2 * len(self._refs))

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            refs = list(self._refs)
        return (instance for instance in (ref() for ref in refs) if instance is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def track_model_instances_weakly() -> None:
    """moto's dashboard lists the live model objects without keeping any alive."""
    from moto.core.common_models import BaseModel

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = object.__new__(cls)
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, WeakInstances):  # first use, or moto reset it to []
            tracked = WeakInstances(tracked or ())
            cls.instances_tracked = tracked  # type: ignore[attr-defined]
        tracked.append(instance)
        return instance

    BaseModel.__new__ = __new__  # type: ignore[method-assign]


def pack_record(record: dict[str, Any]) -> bytes:
    """A stream record as compact bytes (``unpack_record`` gives back an equal dict)."""
    return zlib.compress(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL), 1)


def unpack_record(packed: bytes) -> dict[str, Any]:
    return pickle.loads(zlib.decompress(packed))  # type: ignore[no-any-return]


def pack_dynamodb_stream_records() -> None:
    """A DynamoDB stream record is held packed from the moment moto has built it.

    ``record`` stays the attribute moto and the readers use: moto's constructor fills it
    as a plain dict, then it is packed; reading it unpacks a fresh copy. The creation time
    is kept beside it (``created_at``, epoch seconds) so trimming reads no record.
    """
    from moto.dynamodb.models.table import StreamRecord

    original_init = StreamRecord.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self._building = None
        original_init(self, *args, **kwargs)
        record = self._building
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        self.created_at = created.replace(tzinfo=UTC).timestamp()
        self._packed = pack_record(record)
        del self._building

    def get_record(self: Any) -> dict[str, Any]:
        building = self.__dict__.get("_building")
        return building if building is not None else unpack_record(self._packed)

    def set_record(self: Any, record: dict[str, Any]) -> None:
        if "_building" not in self.__dict__:
            raise AttributeError("a stream record does not change once written")
        self._building = record

    StreamRecord.__init__ = __init__
    StreamRecord.record = property(get_record, set_record)


def pack_kinesis_record_data() -> None:
    """A Kinesis record keeps its data as compressed bytes; ``data`` (base64 text, what
    moto's resharding re-puts) and GetRecords' ``Data`` (the bytes) are derived on read."""
    from moto.kinesis.models import Record

    def get_data(self: Any) -> str:
        return base64.b64encode(zlib.decompress(self._packed_data)).decode("ascii")

    def set_data(self: Any, data: str) -> None:
        self._packed_data = zlib.compress(base64.b64decode(data), 1)

    def to_json(self: Any) -> dict[str, Any]:
        return {
            "Data": zlib.decompress(self._packed_data),
            "PartitionKey": self.partition_key,
            "SequenceNumber": str(self.sequence_number),
            "ApproximateArrivalTimestamp": self.created_at_datetime,
        }

    Record.data = property(get_data, set_data)
    Record.to_json = to_json
