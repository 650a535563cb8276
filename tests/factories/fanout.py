"""Factories for the fanout path: dispatcher environments and events, a recording Lambda
client standing in for the workers, and dispatcher payloads for the workers' tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from lambdas.dispatcher.packing import SOURCE
from lambdas.shared.telemetry import TelemetryV1, encode
from tests.factories.kinesis import SHARD_ID, STREAM_ARN

WORKERS = {"device_state": "shardline-device-state", "alerts": "shardline-alerts"}
ROUTES = [{"worker": "device_state"},
          {"worker": "alerts", "metrics": ["temperature_*"], "sites": ["plant-a"]}]


def dispatcher_environ(*, workers: Mapping[str, str] = WORKERS,
                       routes: list[dict[str, Any]] | None = None,
                       **extra: str) -> dict[str, str]:
    return {"WORKERS": json.dumps(dict(workers)), "ROUTES": json.dumps(routes or ROUTES),
            **extra}


def kinesis_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


@dataclass
class RecordingLambda:
    """A Lambda client whose ``invoke`` records each async payload; functions named in
    ``throttled`` answer TooManyRequestsException, those in ``status`` another status."""

    throttled: set[str] = field(default_factory=set)
    status: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        assert InvocationType == "Event"
        self.calls.append((FunctionName, json.loads(Payload), len(Payload)))
        if FunctionName in self.throttled:
            raise ClientError({"Error": {"Code": "TooManyRequestsException",
                                         "Message": "Rate exceeded"}}, "Invoke")
        return {"StatusCode": self.status.get(FunctionName, 202)}

    def payloads_to(self, function: str) -> list[dict[str, Any]]:
        return [payload for name, payload, _ in self.calls if name == function]

    def user_records_to(self, function: str) -> list[bytes]:
        return [base64.b64decode(r["data"]) for p in self.payloads_to(function)
                for r in p["records"]]


def dispatcher_payload(records: Iterable[TelemetryV1 | bytes], *, shard_id: str = SHARD_ID,
                       first_sequence: int = 1000) -> dict[str, Any]:
    """A payload as the dispatcher sends it, one Kinesis record per user record."""
    entries = []
    for offset, record in enumerate(records):
        data = record if isinstance(record, bytes) else encode(record)
        entries.append({"sequenceNumber": str(first_sequence + offset),
                        "subSequenceNumber": None, "partitionKey": "p",
                        "approximateArrivalTimestamp": 1_763_900_000.5,
                        "data": base64.b64encode(data).decode("ascii")})
    return {"source": SOURCE, "shardId": shard_id, "eventSourceARN": STREAM_ARN,
            "records": entries}


__all__ = ["ROUTES", "WORKERS", "RecordingLambda", "dispatcher_environ", "dispatcher_payload",
           "kinesis_event"]
