"""Kinesis write limits per shard, inside the embedded AWS, for every client in every process.

Kinesis API reference (PutRecord, PutRecords, PutRecordsResultEntry) and the developer
guide ("Quotas and limits"): each shard takes writes of up to 1,000 records per second and
up to 1 MiB per second, counting each record's data blob and partition key, in both the
provisioned and the on-demand capacity mode. A record is routed to the shard whose hash
key range holds the MD5 of its partition key (a 128-bit big-endian integer), or its
``ExplicitHashKey`` when given. Over the limit:

* PutRecords answers 200; each refused record has ``ErrorCode``
  ``ProvisionedThroughputExceededException`` and an ``ErrorMessage`` naming the shard,
  stream and account (``Rate exceeded for shard shardId-000000000001 in stream
  exampleStreamName under account 111111111111.``), ``FailedRecordCount`` counts them,
  and the records that fit are written;
* PutRecord answers 400 ``ProvisionedThroughputExceededException``.

The docs give the limits per second, not the accounting window. ``WriteBudget`` is a
token bucket on the engine's clock holding one second of each (1,000 records, 1 MiB),
refilled continuously: a producer may send one second's worth at once, then at the rate.

``KinesisWriteLimits`` is a WSGI layer in front of moto (behind authorization, as AWS
authorizes before it throttles). It reads the stream's open shards from moto's backend,
forwards only the records that fit (moto stores nothing else), merges the refusals back
into moto's answer at their positions, and logs each put for the stream-level AWS/Kinesis
metrics (``kinesis_metric_data``). Switched off it forwards every request untouched; when
on, a put that passes costs one JSON parse and an MD5 per record.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.aws_requests import signature
from shardline.local.scheduling import Clock, RealClock

WRITE_RECORDS_PER_S = 1000
WRITE_BYTES_PER_S = 1024 * 1024
THROTTLED = "ProvisionedThroughputExceededException"
_TARGET = "Kinesis_20131202."
_OPERATIONS = frozenset({"PutRecord", "PutRecords"})
_CONTENT_TYPE = "application/x-amz-json-1.1"
# What moto accepts in one PutRecords call; a request over it is forwarded untouched so
# moto refuses it whole, as AWS does, and nothing is metered.
_MAX_RECORDS_PER_CALL = 500
_MAX_RECORD_BYTES = 1024 * 1024
_MAX_REQUEST_BYTES = 5 * 1024 * 1024
_LOG_LIMIT = 200_000  # puts kept for the metrics publisher (minutes at any local rate)

StartResponse = Callable[..., Any]


@dataclass
class WriteBudget:
    """One shard's write budget: records and bytes, each a one-second token bucket."""

    clock: Clock
    records_per_s: float = WRITE_RECORDS_PER_S
    bytes_per_s: float = WRITE_BYTES_PER_S
    _records: float = field(init=False)
    _bytes: float = field(init=False)
    _at: float = field(init=False)

    def __post_init__(self) -> None:
        self._records, self._bytes = self.records_per_s, self.bytes_per_s
        self._at = self.clock.now()

    def take(self, size: int) -> bool:
        """Spend one record of ``size`` bytes if both buckets hold it; else spend nothing."""
        now = self.clock.now()
        if now > self._at:
            elapsed, self._at = now - self._at, now
            self._records = min(self.records_per_s, self._records + elapsed * self.records_per_s)
            self._bytes = min(self.bytes_per_s, self._bytes + elapsed * self.bytes_per_s)
        if self._records < 1 or self._bytes < size:
            return False
        self._records -= 1
        self._bytes -= size
        return True


@dataclass(frozen=True, slots=True)
class PutOutcome:
    """One PutRecord or PutRecords call that reached its shards: what was written and
    what was refused (the stream-level metrics are made of these)."""

    at: float
    stream: str
    operation: str
    records: int
    bytes: int
    throttled: int


@dataclass(frozen=True, slots=True)
class _Shard:
    shard_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Stream:
    name: str
    account: str
    shards: tuple[_Shard, ...]

    def route(self, record: dict[str, Any]) -> _Shard | None:
        explicit = record.get("ExplicitHashKey")
        if explicit and not str(explicit).isdigit():
            return None  # moto answers the invalid key
        key = (int(explicit) if explicit else
               int.from_bytes(hashlib.md5(str(record["PartitionKey"]).encode()).digest(), "big"))
        for shard in self.shards:
            if shard.start <= key <= shard.end:
                return shard
        return None


class KinesisWriteLimits:
    """WSGI middleware in front of moto: per-shard write limits and a log of puts."""

    def __init__(self, app: Callable[..., Iterable[bytes]], account: str,
                 clock: Clock | None = None) -> None:
        self.app = app
        self.account = account
        self.clock: Clock = clock or RealClock()
        self.enabled = False
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], WriteBudget] = {}
        self._puts: deque[PutOutcome] = deque(maxlen=_LOG_LIMIT)

    def enable(self, clock: Clock | None = None) -> None:
        """Meter from now on, on ``clock`` (default: the wall clock); budgets start full."""
        with self._lock:
            self.clock = clock or RealClock()
            self._budgets.clear()
            self.enabled = True

    def disable(self) -> None:
        with self._lock:
            self.enabled = False
            self._budgets.clear()
            self._puts.clear()

    def puts(self, since: float) -> list[PutOutcome]:
        """The puts at or after ``since`` (older ones are forgotten)."""
        with self._lock:
            while self._puts and self._puts[0].at < since:
                self._puts.popleft()
            return list(self._puts)

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target[len(_TARGET):] if target.startswith(_TARGET) else ""
        if not self.enabled or operation not in _OPERATIONS:
            return self.app(environ, start_response)
        body = _read_body(environ)
        try:
            request = json.loads(body or b"{}")
            records = (request["Records"] if operation == "PutRecords"
                       else [{key: request.get(key) for key in
                              ("Data", "PartitionKey", "ExplicitHashKey")}])
            sizes = [_size(record) for record in records]
            stream = self._stream(request, environ) if _valid(sizes) else None
        except (ValueError, KeyError, TypeError, AttributeError):
            stream = None
        if stream is None:  # moto answers (a validation error, a missing stream …)
            return self._forward(environ, body, start_response)
        refused = self._refuse(stream, records, sizes)
        if not refused:
            return self._all_written(stream, operation, sizes, environ, body, start_response)
        if operation == "PutRecord":
            return self._put_record(stream, refused, start_response)
        return self._put_records(stream, request, refused, sizes, environ, start_response)

    def _stream(self, request: dict[str, Any], environ: dict[str, Any]) -> _Stream | None:
        from moto.kinesis.models import kinesis_backends

        arn = request.get("StreamARN")
        account = arn.split(":")[4] if arn else self.account
        signed = signature(environ)
        region = arn.split(":")[3] if arn else (signed[1] if signed else "us-east-1")
        try:
            stream = kinesis_backends[account][region].describe_stream(
                stream_arn=arn, stream_name=request.get("StreamName"))
        except Exception:  # moto's own "not found" answers the caller
            return None
        shards = sorted((_Shard(s.shard_id, int(s.starting_hash), int(s.ending_hash))
                         for s in list(stream.shards.values()) if s.is_open),
                        key=lambda shard: shard.start)
        return _Stream(stream.stream_name, account, tuple(shards))

    def _refuse(self, stream: _Stream, records: list[dict[str, Any]],
                sizes: list[int]) -> dict[int, _Shard]:
        """Spend the budgets, in request order; return the refused positions' shards."""
        refused: dict[int, _Shard] = {}
        with self._lock:
            for index, (record, size) in enumerate(zip(records, sizes, strict=True)):
                shard = stream.route(record)
                if shard is None:
                    continue  # no open shard holds the key: moto answers as it does
                key = (stream.name, shard.shard_id)
                budget = self._budgets.get(key)
                if budget is None:
                    budget = self._budgets[key] = WriteBudget(self.clock)
                if not budget.take(size):
                    refused[index] = shard
        return refused

    def _log(self, stream: _Stream, operation: str, records: int, size: int,
             throttled: int) -> None:
        with self._lock:
            self._puts.append(PutOutcome(self.clock.now(), stream.name, operation,
                                         records, size, throttled))

    def _all_written(self, stream: _Stream, operation: str, sizes: list[int],
                     environ: dict[str, Any], body: bytes,
                     start_response: StartResponse) -> Iterable[bytes]:
        status, headers, chunks = self._call(environ, body)
        if status.startswith("200"):
            self._log(stream, operation, len(sizes), sum(sizes), 0)
        start_response(status, headers)
        return chunks

    def _put_record(self, stream: _Stream, refused: dict[int, _Shard],
                    start_response: StartResponse) -> Iterable[bytes]:
        self._log(stream, "PutRecord", 0, 0, 1)
        return _respond(start_response, "400 Bad Request",
                        {"__type": THROTTLED, "message": _message(stream, refused[0])})

    def _put_records(self, stream: _Stream, request: dict[str, Any],
                     refused: dict[int, _Shard], sizes: list[int],
                     environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        records = request["Records"]
        kept = [record for index, record in enumerate(records) if index not in refused]
        results: list[dict[str, Any]] = []
        status, headers = "200 OK", [("Content-Type", _CONTENT_TYPE)]
        extra: dict[str, Any] = {}
        if kept:
            forwarded = json.dumps({**request, "Records": kept}).encode()
            status, headers, chunks = self._call(environ, forwarded)
            if not status.startswith("200"):
                start_response(status, headers)
                return chunks
            extra = json.loads(b"".join(chunks))
            results = list(extra.pop("Records"))
        written = iter(results)
        merged = [_refusal(stream, refused[index]) if index in refused else next(written)
                  for index in range(len(records))]
        written_bytes = sum(size for index, size in enumerate(sizes) if index not in refused)
        self._log(stream, "PutRecords", len(kept), written_bytes, len(refused))
        extra.pop("FailedRecordCount", None)
        return _respond(start_response, status, {"FailedRecordCount": len(refused),
                                                 "Records": merged, **extra}, headers)

    def _call(self, environ: dict[str, Any],
              body: bytes) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"], captured["headers"] = status, headers

        chunks = list(self._forward(environ, body, capture))
        return captured["status"], captured["headers"], chunks

    def _forward(self, environ: dict[str, Any], body: bytes,
                 start_response: StartResponse) -> Iterable[bytes]:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def _size(record: dict[str, Any]) -> int:
    """Data blob + partition key bytes, from the base64 text without decoding it."""
    data = str(record.get("Data") or "")
    return (len(data) * 3 // 4 - data[-2:].count("=")
            + len(str(record["PartitionKey"]).encode("utf-8")))


def _valid(sizes: list[int]) -> bool:
    return (0 < len(sizes) <= _MAX_RECORDS_PER_CALL and max(sizes) <= _MAX_RECORD_BYTES
            and sum(sizes) <= _MAX_REQUEST_BYTES)


def _message(stream: _Stream, shard: _Shard) -> str:
    return (f"Rate exceeded for shard {shard.shard_id} in stream {stream.name} "
            f"under account {stream.account}.")


def _refusal(stream: _Stream, shard: _Shard) -> dict[str, str]:
    return {"ErrorCode": THROTTLED, "ErrorMessage": _message(stream, shard)}


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _respond(start_response: StartResponse, status: str, payload: dict[str, Any],
             headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = json.dumps(payload).encode()
    kept = [(name, value) for name, value in headers or []
            if name.lower() not in ("content-length", "content-type")]
    if not any(name.lower() == "x-amzn-requestid" for name, _ in kept):
        kept.append(("x-amzn-RequestId", str(uuid.uuid4())))
    start_response(status, [*kept, ("Content-Type", _CONTENT_TYPE),
                            ("Content-Length", str(len(body)))])
    return [body]


def silence_moto_stream_metrics() -> None:
    """moto puts IncomingBytes/IncomingRecords into its CloudWatch on every put, stamped
    with the wall clock and kept for ever; the metrics publisher puts AWS's stream-level
    metrics instead, once a minute of the engine's clock."""
    from moto.kinesis.models import KinesisBackend

    KinesisBackend._send_stream_metrics = lambda self, *args, **kwargs: None


__all__ = ["THROTTLED", "WRITE_BYTES_PER_S", "WRITE_RECORDS_PER_S", "KinesisWriteLimits",
           "PutOutcome", "WriteBudget", "silence_moto_stream_metrics"]
