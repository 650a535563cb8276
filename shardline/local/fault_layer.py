"""Faults and a write meter *inside* the embedded AWS, for every client in every process.

``tests.support.faults`` injects faults into one boto3 client the caller owns (the producer's).
A Lambda handler owns its clients, so its faults are injected on the server side instead:
this WSGI layer sits in front of moto's app and, for the DynamoDB calls a rule matches,
answers the way DynamoDB does under pressure:

* ``throttle`` — a 400 ``ProvisionedThroughputExceededException`` (nothing is written);
* ``unprocessed`` — BatchWriteItem writes only some of the items (picked with a seeded
  random, at ``rate``) and returns the others as ``UnprocessedItems``, in DynamoDB's shape;
* ``error`` — the request *is* applied, then the caller gets a non-retryable 400 error:
  the handler crashes after some of its writes landed, the case idempotent keys exist for;
* ``delay`` — the request waits ``delay_s`` before it is applied (a slow table, so a
  handler can run out of its timeout mid-batch).

Rules match an operation, optionally a table and the sort-key prefix of the written items
(``P#`` picks the aggregator's partials), skip the first ``after`` matches and stop after
``times`` injections. They are tried in the order injected and the first that fires
answers the call (an ``unprocessed`` rule fires on every call it matches).

The layer also meters writes: items put or deleted per table, after faults (what DynamoDB
really stored), which is how write amplification is measured.

Responses keep DynamoDB's ``x-amz-crc32`` header right (botocore verifies it).
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from shardline.local.item_size import write_units

FaultKind = Literal["throttle", "unprocessed", "error", "delay"]
FAULT_KINDS: frozenset[str] = frozenset({"throttle", "unprocessed", "error", "delay"})
_DYNAMODB_TARGET = "DynamoDB_20120810."
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
_WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
_METERED_OPERATIONS = _WRITE_OPERATIONS | {"BatchWriteItem"}

StartResponse = Callable[..., Any]


@dataclass
class DynamoDBFault:
    """One fault rule; ``injected`` counts how often it fired."""

    kind: FaultKind
    operation: str = "BatchWriteItem"
    table: str | None = None
    sort_key_prefix: str | None = None
    rate: float = 1.0  # per call (throttle, error, delay), per item (unprocessed)
    after: int = 0
    times: int | None = None
    delay_s: float = 0.0
    error_code: str = "ValidationException"
    injected: int = 0
    matched: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {sorted(FAULT_KINDS)}")
        if not 0.0 < self.rate <= 1.0:
            raise ValueError("rate must be in (0, 1]")
        if self.kind == "unprocessed" and self.operation != "BatchWriteItem":
            raise ValueError("only BatchWriteItem reports UnprocessedItems")
        if self.kind == "delay" and self.delay_s <= 0:
            raise ValueError("a delay fault needs delay_s > 0")

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.injected >= self.times

    def matches(self, operation: str, request: dict[str, Any]) -> bool:
        if operation != self.operation:
            return False
        tables = _tables(operation, request)
        if self.table is not None and self.table not in tables:
            return False
        if self.sort_key_prefix is not None:
            keys = _sort_keys(operation, request, self.table)
            if not any(key.startswith(self.sort_key_prefix) for key in keys):
                return False
        return True


class FaultLayer:
    """WSGI middleware in front of moto: DynamoDB faults by rule, and a write meter."""

    def __init__(self, app: Callable[..., Iterable[bytes]], seed: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock  # stamps throttle events (the engine's clock, when virtual)
        self._rules: list[DynamoDBFault] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._writes: Counter[str] = Counter()
        self._write_units: Counter[str] = Counter()
        # (epoch s, table, "Read" | "Write") per throttled request: DynamoDB's
        # ReadThrottleEvents / WriteThrottleEvents, for the local CloudWatch.
        self._throttles: list[tuple[float, str, str]] = []

    # -- API for tests, benchmarks and users of `local up` -------------------------------

    def inject(self, rule: DynamoDBFault) -> DynamoDBFault:
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: DynamoDBFault) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def writes(self) -> Counter[str]:
        """Items put or deleted so far, per table (what DynamoDB applied)."""
        with self._lock:
            return Counter(self._writes)

    def write_units(self) -> Counter[str]:
        """Write units of the items put so far, per table (``item_size.py``; a delete
        counts one)."""
        with self._lock:
            return Counter(self._write_units)

    def throttle_events(self, since: float) -> list[tuple[float, str, str]]:
        """Requests throttled at or after ``since``: (epoch s, table, Read | Write)."""
        with self._lock:
            return [event for event in self._throttles if event[0] >= since]

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(_DYNAMODB_TARGET):
            return self.app(environ, start_response)
        operation = target[len(_DYNAMODB_TARGET):]
        if not self._rules and operation not in _METERED_OPERATIONS:
            return self.app(environ, start_response)  # reads: nothing to meter or inject
        body = _read_body(environ)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self._forward(environ, body, start_response)
        rule = self._pick(operation, request)
        if rule is None or rule.kind == "delay":
            if rule is not None:
                time.sleep(rule.delay_s)
            return self._applied(operation, request, environ, body, start_response)
        if rule.kind == "throttle":
            kind = "Write" if operation in _WRITE_OPERATIONS else "Read"
            with self._lock:
                self._throttles.extend((self.clock(), table, kind)
                                       for table in _tables(operation, request))
            return _error(start_response, "ProvisionedThroughputExceededException",
                          "The level of configured provisioned throughput for the table was "
                          "exceeded (injected fault).")
        if rule.kind == "error":
            status, headers, chunks = self._call(operation, request, environ, body)
            if not status.startswith("200"):
                start_response(status, headers)
                return chunks
            return _error(start_response, rule.error_code,
                          "The request was applied, then failed (injected fault).")
        return self._unprocessed(rule, request, environ, start_response)

    def _pick(self, operation: str, request: dict[str, Any]) -> DynamoDBFault | None:
        with self._lock:
            for rule in self._rules:
                if rule.exhausted or not rule.matches(operation, request):
                    continue
                rule.matched += 1
                if rule.matched <= rule.after:
                    continue
                if rule.kind != "unprocessed" and self._random.random() >= rule.rate:
                    continue
                rule.injected += 1
                return rule
        return None

    def _unprocessed(self, rule: DynamoDBFault, request: dict[str, Any],
                     environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        kept: dict[str, list[Any]] = {}
        withheld: dict[str, list[Any]] = {}
        with self._lock:
            for table, requests in request.get("RequestItems", {}).items():
                for item in requests:
                    chosen = ((rule.table is None or rule.table == table)
                              and self._random.random() < rule.rate)
                    (withheld if chosen else kept).setdefault(table, []).append(item)
        if not kept:
            # DynamoDB answers a call it could not serve at all with a throttling error.
            return _error(start_response, "ProvisionedThroughputExceededException",
                          "Every item of the batch was throttled (injected fault).")
        forwarded = {**request, "RequestItems": kept}
        status, headers, chunks = self._call("BatchWriteItem", forwarded, environ,
                                             json.dumps(forwarded).encode())
        if not status.startswith("200"):
            start_response(status, headers)
            return chunks
        response = json.loads(b"".join(chunks) or b"{}")
        unprocessed = response.setdefault("UnprocessedItems", {})
        for table, items in withheld.items():
            unprocessed.setdefault(table, []).extend(items)
        return _json(start_response, status, headers, response)

    def _applied(self, operation: str, request: dict[str, Any], environ: dict[str, Any],
                 body: bytes, start_response: StartResponse) -> Iterable[bytes]:
        status, headers, chunks = self._call(operation, request, environ, body)
        start_response(status, headers)
        return chunks

    def _call(self, operation: str, request: dict[str, Any], environ: dict[str, Any],
              body: bytes) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"], captured["headers"] = status, headers

        chunks = list(self._forward(environ, body, capture))
        status = captured["status"]
        if status.startswith("200"):
            self._meter(operation, request, chunks)
        return status, captured["headers"], chunks

    def _forward(self, environ: dict[str, Any], body: bytes,
                 start_response: StartResponse) -> Iterable[bytes]:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def _meter(self, operation: str, request: dict[str, Any], chunks: list[bytes]) -> None:
        applied: Counter[str] = Counter()
        units: Counter[str] = Counter()
        if operation == "BatchWriteItem":
            response = json.loads(b"".join(chunks) or b"{}")
            left = response.get("UnprocessedItems") or {}
            for table, requests in request.get("RequestItems", {}).items():
                unprocessed = left.get(table, [])
                done = [entry for entry in requests if entry not in unprocessed]
                applied[table] += len(done)
                units[table] += sum(_units(entry) for entry in done)
        elif operation in _WRITE_OPERATIONS:
            table = str(request.get("TableName", ""))
            applied[table] += 1
            units[table] += write_units(request["Item"]) if "Item" in request else 1
        if applied:
            with self._lock:
                self._writes.update(applied)
                self._write_units.update(units)


def _units(entry: dict[str, Any]) -> int:
    put = entry.get("PutRequest")
    return write_units(put["Item"]) if put else 1


_WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                               "TransactWriteItems"})


def _tables(operation: str, request: dict[str, Any]) -> set[str]:
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return set(request.get("RequestItems", {}))
    return {str(request["TableName"])} if "TableName" in request else set()


def _sort_keys(operation: str, request: dict[str, Any], table: str | None) -> Iterator[str]:
    if operation == "BatchWriteItem":
        for name, requests in request.get("RequestItems", {}).items():
            if table is not None and name != table:
                continue
            for entry in requests:
                item = (entry.get("PutRequest", {}).get("Item")
                        or entry.get("DeleteRequest", {}).get("Key") or {})
                yield str(item.get("SK", {}).get("S", ""))
    else:
        item = request.get("Item") or request.get("Key") or {}
        yield str(item.get("SK", {}).get("S", ""))


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _json(start_response: StartResponse, status: str, headers: list[tuple[str, str]],
          payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    replaced = {"content-length": str(len(body)), "x-amz-crc32": str(zlib.crc32(body))}
    kept = [(name, value) for name, value in headers if name.lower() not in replaced]
    start_response(status, [*kept, ("Content-Length", replaced["content-length"]),
                            ("x-amz-crc32", replaced["x-amz-crc32"])])
    return [body]


def _error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    headers = [("Content-Type", _JSON_CONTENT_TYPE)]
    return _json(start_response, "400 Bad Request", headers,
                 {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message})


__all__ = ["FAULT_KINDS", "DynamoDBFault", "FaultKind", "FaultLayer"]
