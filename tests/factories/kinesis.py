"""Factories for Kinesis Lambda events, shaped exactly like the ones AWS delivers.

* ``KinesisShard`` hands out records of one shard with increasing sequence numbers and
  arrival times (``record``, ``records``, ``aggregated_record`` for KPL aggregates).
* ``kinesis_record`` builds one event record from explicit values.
* ``tumbling_window_event`` wraps records in the tumbling-window envelope (``window`` with
  AWS's ISO-8601 ``start``/``end``, ``state``, ``shardId``, ``eventSourceARN``,
  ``isFinalInvokeForWindow``, ``isWindowTerminatedEarly``).
* ``run_window`` drives a handler through one window the way the event source mapping
  does: several invocations carrying the returned state, then the final invoke.
* ``lambda_context`` is a stand-in for the Lambda context object.

Payloads may be ``bytes`` (sent as is), a ``TelemetryV1`` (encoded; its device id is the
partition key) or a JSON-able mapping.

Example::

    shard = KinesisShard()
    records = shard.records(device_series("dev-00042", 5))
    event = tumbling_window_event(records, window_start_s=WINDOW_START_S, is_final=True)
    response = lambda_handler(event, lambda_context())
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_kinesis_agg.aggregator import AggRecord

from lambdas.shared.telemetry import TelemetryV1, encode
from tests.factories.telemetry import BASE_TS_MS

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STREAM_NAME = "telemetry"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{STREAM_NAME}"
SHARD_ID = "shardId-000000000000"
# Kinesis sequence numbers are 56-digit decimal strings, increasing within a shard.
FIRST_SEQUENCE_NUMBER = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898
SEQUENCE_STEP = 1_000_000_000
WINDOW_SECONDS = 60
WINDOW_START_S = BASE_TS_MS // 1000  # a window that opens when the sample telemetry starts

Payload = bytes | TelemetryV1 | Mapping[str, Any]


def iso_utc(epoch_s: float) -> str:
    """``2020-07-30T17:00:00Z``: how Lambda writes the window bounds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def payload_bytes(payload: Payload) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, TelemetryV1):
        return encode(payload)
    return json.dumps(payload, separators=(",", ":")).encode()


def default_partition_key(payload: Payload) -> str:
    if isinstance(payload, TelemetryV1):
        return payload.device_id
    if isinstance(payload, Mapping) and isinstance(payload.get("device_id"), str):
        return payload["device_id"]
    return "unknown-device"


def kinesis_record(
    data: bytes,
    *,
    sequence_number: str,
    partition_key: str,
    arrival_s: float,
    shard_id: str = SHARD_ID,
    stream_arn: str = STREAM_ARN,
    region: str = REGION,
) -> dict[str, Any]:
    """One record of a Kinesis Lambda event (``data`` is base64-encoded here)."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": round(arrival_s, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT_ID}:role/aggregator",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def kpl_aggregate(user_records: Sequence[tuple[str, bytes]]) -> bytes:
    """KPL-aggregated bytes (magic, protobuf, MD5) holding (partition key, data) records."""
    aggregate = AggRecord()
    for partition_key, data in user_records:
        if not aggregate.add_user_record(partition_key, data):
            raise ValueError("user records exceed one aggregated record (1 MiB)")
    return aggregate.get_contents()[2]


@dataclass
class KinesisShard:
    """Records of one shard: sequence numbers and arrival times increase with each record."""

    shard_id: str = SHARD_ID
    stream_arn: str = STREAM_ARN
    region: str = REGION
    next_sequence: int = FIRST_SEQUENCE_NUMBER
    clock_s: float = float(WINDOW_START_S)
    tick_s: float = 0.01
    delivered: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def _next(self, arrival_s: float | None) -> tuple[str, float]:
        sequence_number = str(self.next_sequence)
        self.next_sequence += SEQUENCE_STEP
        if arrival_s is not None:
            self.clock_s = arrival_s
        arrival = self.clock_s
        self.clock_s += self.tick_s
        return sequence_number, arrival

    def record(
        self,
        payload: Payload,
        *,
        partition_key: str | None = None,
        arrival_s: float | None = None,
    ) -> dict[str, Any]:
        """The next record of the shard carrying one user record."""
        sequence_number, arrival = self._next(arrival_s)
        record = kinesis_record(
            payload_bytes(payload),
            sequence_number=sequence_number,
            partition_key=partition_key or default_partition_key(payload),
            arrival_s=arrival,
            shard_id=self.shard_id,
            stream_arn=self.stream_arn,
            region=self.region,
        )
        self.delivered.append(record)
        return record

    def records(self, payloads: Iterable[Payload]) -> list[dict[str, Any]]:
        return [self.record(payload) for payload in payloads]

    def aggregated_record(
        self, payloads: Iterable[Payload], *, arrival_s: float | None = None
    ) -> dict[str, Any]:
        """The next record of the shard: a KPL aggregate of the payloads (one sequence
        number, sub-records numbered by position, first user record's partition key)."""
        user_records = [(default_partition_key(p), payload_bytes(p)) for p in payloads]
        sequence_number, arrival = self._next(arrival_s)
        record = kinesis_record(
            kpl_aggregate(user_records),
            sequence_number=sequence_number,
            partition_key=user_records[0][0] if user_records else "unknown-device",
            arrival_s=arrival,
            shard_id=self.shard_id,
            stream_arn=self.stream_arn,
            region=self.region,
        )
        self.delivered.append(record)
        return record


def tumbling_window_event(
    records: Sequence[Mapping[str, Any]],
    *,
    window_start_s: int = WINDOW_START_S,
    window_seconds: int = WINDOW_SECONDS,
    state: Mapping[str, Any] | None = None,
    shard_id: str | None = None,
    stream_arn: str | None = None,
    is_final: bool = False,
    terminated_early: bool = False,
) -> dict[str, Any]:
    """A Kinesis tumbling-window event; shard and stream default to the records' own."""
    first = records[0] if records else {}
    if shard_id is None:
        shard_id = str(first.get("eventID", SHARD_ID)).split(":", 1)[0]
    if stream_arn is None:
        stream_arn = first.get("eventSourceARN", STREAM_ARN)
    return {
        "Records": [dict(record) for record in records],
        "window": {
            "start": iso_utc(window_start_s),
            "end": iso_utc(window_start_s + window_seconds),
        },
        "state": dict(state or {}),
        "shardId": shard_id,
        "eventSourceARN": stream_arn,
        "isFinalInvokeForWindow": is_final,
        "isWindowTerminatedEarly": terminated_early,
    }


@dataclass(frozen=True)
class LambdaContextStub:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str = "aggregator"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:aggregator"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/aggregator"
    log_stream_name: str = "2025/11/23/[$LATEST]0123456789abcdef"
    remaining_time_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_time_ms


def lambda_context(function_name: str = "aggregator", **overrides: Any) -> LambdaContextStub:
    """A context for ``function_name`` (fresh request id); any attribute can be overridden."""
    fields: dict[str, Any] = {
        "function_name": function_name,
        "invoked_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}",
        "log_group_name": f"/aws/lambda/{function_name}",
    }
    fields.update(overrides)
    return LambdaContextStub(**fields)


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def run_window(
    handler: Handler,
    batches: Sequence[Sequence[Mapping[str, Any]]],
    *,
    final_batch: Sequence[Mapping[str, Any]] = (),
    window_start_s: int = WINDOW_START_S,
    window_seconds: int = WINDOW_SECONDS,
    state: Mapping[str, Any] | None = None,
    shard_id: str | None = None,
    context: Any = None,
) -> list[dict[str, Any]]:
    """Invoke ``handler`` once per batch carrying the returned state, then the final invoke
    (with ``final_batch``, possibly empty). Returns every response, final one last.

    Like the event source mapping, a response without ``state`` stops the window
    (``AssertionError``); failed items are not retried here.
    """
    responses = []
    current = dict(state or {})
    if shard_id is None:
        first = next((batch[0] for batch in [*batches, final_batch] if batch), {})
        shard_id = str(first.get("eventID", SHARD_ID)).split(":", 1)[0]
    invocations = [(batch, False) for batch in batches] + [(final_batch, True)]
    for batch, is_final in invocations:
        event = tumbling_window_event(
            batch,
            window_start_s=window_start_s,
            window_seconds=window_seconds,
            state=current,
            shard_id=shard_id,
            is_final=is_final,
        )
        response = handler(event, context if context is not None else lambda_context())
        assert isinstance(response, dict) and "state" in response, response
        responses.append(response)
        current = response["state"]
    return responses


__all__ = [
    "FIRST_SEQUENCE_NUMBER",
    "SHARD_ID",
    "STREAM_ARN",
    "WINDOW_SECONDS",
    "WINDOW_START_S",
    "KinesisShard",
    "LambdaContextStub",
    "iso_utc",
    "kinesis_record",
    "kpl_aggregate",
    "lambda_context",
    "run_window",
    "tumbling_window_event",
]
