"""Factories and helpers shared by the producer and fault-injection tests (no tests here).

Everything runs against the embedded AWS (moto, in-process): a real boto3 client, a real
stream with two shards, real PutRecords / GetRecords. ``RecordingClient`` is a spy that
forwards to that client and remembers what was asked and answered; it mocks nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from unittest import mock

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from lambdas.shared.telemetry import TelemetryV1, decode, encode
from producers.fleet import FleetConfig, generate
from producers.publisher import PutEntry
from producers.readback import StreamRecord, read_stream

REGION = "us-east-1"
STREAM = "telemetry"
START_MS = 1_763_900_000_000  # 2025-11-23T12:13:20Z, a fixed event-time origin

# Variables that would point boto3 away from the in-process mock or at real credentials.
_LEAKY_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS", "AWS_PROFILE")




@cache
def _session() -> boto3.session.Session:
    # One boto3 Session object for all tests: it caches the service models, which makes
    # each new client ~10x cheaper. Explicit dummy credentials never reach a real account.
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


@contextmanager
def kinesis_stream(shards: int = 2, name: str = STREAM) -> Iterator[tuple[Any, str]]:
    """A real Kinesis client and an ACTIVE stream inside a fresh embedded AWS."""
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": REGION}):
        for variable in _LEAKY_ENV:
            os.environ.pop(variable, None)
        with mock_aws():
            client = _session().client("kinesis")
            client.create_stream(StreamName=name, ShardCount=shards)
            yield client, name


def fleet_records(
    devices: int = 4, rate_hz: float = 1.0, duration_s: float = 10.0, seed: int = 7
) -> list[TelemetryV1]:
    config = FleetConfig(
        devices=devices, rate_hz=rate_hz, duration_s=duration_s, seed=seed, start_ms=START_MS
    )
    return [record for _offset, record in generate(config)]


def entries_for(records: list[TelemetryV1]) -> list[PutEntry]:
    return [PutEntry(record.device_id, encode(record), record) for record in records]


def stream_contents(client: Any, stream: str = STREAM) -> list[StreamRecord]:
    return read_stream(client, stream)


def decoded(records: list[StreamRecord]) -> list[TelemetryV1]:
    return [decode(record.data) for record in records]


@dataclass
class RecordedCall:
    records: list[dict[str, Any]]
    results: list[dict[str, Any]] | None = None  # None: the call raised
    error_code: str | None = None


@dataclass
class RecordingClient:
    """Forwards PutRecords to a real client and keeps each request and its result."""

    client: Any
    calls: list[RecordedCall] = field(default_factory=list)

    def put_records(self, **kwargs: Any) -> dict[str, Any]:
        call = RecordedCall(records=list(kwargs["Records"]))
        self.calls.append(call)
        try:
            response = self.client.put_records(**kwargs)
        except ClientError as exc:
            call.error_code = exc.response["Error"]["Code"]
            raise
        call.results = response["Records"]
        return response


@dataclass
class FakeTime:
    """A monotonic clock that only moves when someone sleeps; sleeps are recorded."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, "negative sleep"
        self.sleeps.append(seconds)
        self.now += seconds
