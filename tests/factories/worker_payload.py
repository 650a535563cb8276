"""Builders of the payloads the fanout dispatcher sends to its workers
(``lambdas.shared.worker_payload``), from telemetry records or raw bytes."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from lambdas.shared.telemetry import TelemetryV1, encode
from tests.factories.kinesis import SHARD_ID, STREAM_ARN

# A realistic Kinesis sequence number: 56 decimal digits.
BASE_SEQUENCE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898


def worker_record(data: bytes | TelemetryV1, *, index: int = 0, sub: int | None = None,
                  partition_key: str | None = None,
                  arrival_s: float = 1_763_900_000.123) -> dict[str, Any]:
    """One record of a worker payload; ``index`` makes its sequence number."""
    raw = encode(data) if isinstance(data, TelemetryV1) else data
    key = partition_key or (data.device_id if isinstance(data, TelemetryV1) else "dev-00001")
    return {"sequenceNumber": str(BASE_SEQUENCE + index * 1000), "subSequenceNumber": sub,
            "partitionKey": key, "approximateArrivalTimestamp": arrival_s,
            "data": base64.b64encode(raw).decode("ascii")}


def worker_payload(records: Sequence[dict[str, Any] | TelemetryV1 | bytes], *,
                   shard_id: str = SHARD_ID, first_index: int = 0) -> dict[str, Any]:
    """A dispatcher payload; telemetry records or bytes get consecutive sequence numbers
    from ``first_index``, record dicts (``worker_record``) are taken as they are."""
    built = [record if isinstance(record, dict)
             else worker_record(record, index=first_index + offset)
             for offset, record in enumerate(records)]
    return {"source": "shardline.dispatcher", "shardId": shard_id,
            "eventSourceARN": STREAM_ARN, "records": built}


__all__ = ["BASE_SEQUENCE", "worker_payload", "worker_record"]
