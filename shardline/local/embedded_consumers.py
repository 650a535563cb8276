"""Kinesis stream consumers (enhanced fan-out) in the embedded AWS, as the Kinesis API has them.

moto (5.2) registers any number of consumers, under any name, ACTIVE at once, and its
DeregisterStreamConsumer by name keeps the named consumer and drops the others. AWS
(Kinesis API reference, RegisterStreamConsumer / DeregisterStreamConsumer):

* a consumer is ``CREATING`` after RegisterStreamConsumer, then ``ACTIVE``; only an
  ACTIVE consumer may SubscribeToShard (``ResourceInUseException`` otherwise). AWS does
  not say how long registration takes: here a consumer is ACTIVE
  ``CONSUMER_ACTIVATION_S`` after it was registered (on the clock moto stamps records
  with, which the conformance suite makes virtual);
* at most ``MAX_CONSUMERS_PER_STREAM`` (20) consumers per stream (provisioned and
  on-demand standard streams; on-demand Advantage streams allow 50, which moto does not
  model), and at most ``MAX_CREATING_CONSUMERS`` (5) in CREATING at once: both refused
  with ``LimitExceededException``;
* a name is unique per stream: registering it again is ``ResourceInUseException``;
* DeregisterStreamConsumer removes the named consumer (AWS shows it DELETING for a
  while first; here it is gone at once), which ends its subscriptions.

``consumer_status`` and ``shard_tip`` read the embedded Kinesis in this process, without
an API call: what an enhanced fan-out subscription needs to know to push records as they
arrive (``efo_subscription``).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

MAX_CONSUMERS_PER_STREAM = 20
MAX_CREATING_CONSUMERS = 5
CONSUMER_ACTIVATION_S = 1.0

_lock = threading.Lock()
_completed = False


def _now() -> datetime:
    from moto.kinesis import models

    return models.utcnow()


def _status(consumer: Any) -> str:
    active_at = consumer.created + timedelta(seconds=CONSUMER_ACTIVATION_S)
    return "ACTIVE" if _now() >= active_at else "CREATING"


def complete_moto_consumer_api() -> None:
    """Patch moto's Kinesis consumers as described above (idempotent, per process)."""
    global _completed
    with _lock:
        if _completed:
            return
        from moto.core.exceptions import JsonRESTError
        from moto.kinesis import models

        to_json = models.Consumer.to_json

        def consumer_json(self: Any, include_stream_arn: bool = False) -> dict[str, Any]:
            data: dict[str, Any] = to_json(self, include_stream_arn)
            data["ConsumerStatus"] = _status(self)
            return data

        register = models.KinesisBackend.register_stream_consumer

        def register_stream_consumer(self: Any, stream_arn: str, consumer_name: str) -> Any:
            consumers = self._find_stream_by_arn(stream_arn).consumers
            if any(c.consumer_name == consumer_name for c in consumers):
                raise JsonRESTError("ResourceInUseException",
                                    f"Consumer {consumer_name} under stream {stream_arn} "
                                    "already exists")
            if len(consumers) >= MAX_CONSUMERS_PER_STREAM:
                raise JsonRESTError("LimitExceededException",
                                    f"Stream {stream_arn} already has "
                                    f"{MAX_CONSUMERS_PER_STREAM} registered consumers")
            if sum(_status(c) == "CREATING" for c in consumers) >= MAX_CREATING_CONSUMERS:
                raise JsonRESTError("LimitExceededException",
                                    f"Stream {stream_arn} already has "
                                    f"{MAX_CREATING_CONSUMERS} consumers in CREATING status")
            return register(self, stream_arn, consumer_name)

        def deregister_stream_consumer(self: Any, stream_arn: str, consumer_name: str,
                                       consumer_arn: str) -> None:
            consumer = self.describe_stream_consumer(stream_arn, consumer_name, consumer_arn)
            for stream in self.streams.values():
                stream.delete_consumer(consumer.consumer_arn)

        models.Consumer.to_json = consumer_json
        models.KinesisBackend.register_stream_consumer = register_stream_consumer
        models.KinesisBackend.deregister_stream_consumer = deregister_stream_consumer
        _completed = True


def _backend(arn: str) -> Any:
    from moto.kinesis.models import kinesis_backends

    _, _, _, region, account = arn.split(":")[:5]
    return kinesis_backends[account][region]


def consumer_status(consumer_arn: str) -> str | None:
    """``CREATING`` or ``ACTIVE``; None when no stream has the consumer (deregistered)."""
    try:
        streams = list(_backend(consumer_arn).streams.values())
    except (KeyError, ValueError):
        return None
    for stream in streams:
        consumer = stream.get_consumer_by_arn(consumer_arn)
        if consumer is not None:
            return _status(consumer)
    return None


def shard_tip(stream_arn: str, shard_id: str) -> tuple[int, bool]:
    """The newest sequence number the shard holds (0: none, or no such shard), and
    whether the shard is closed (a reshard made it a parent: a subscription to it ends
    once its last record was pushed)."""
    try:
        name = stream_arn.split("/", 1)[1]
        shard = _backend(stream_arn).streams[name].shards[shard_id]
        records = shard.records
        return (int(next(reversed(records))) if records else 0), not shard.is_open
    except (KeyError, ValueError, IndexError, RuntimeError):
        return 0, False
