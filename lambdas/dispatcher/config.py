"""Dispatcher configuration: one typed, frozen object read once from the environment.

Environment variables:

* ``WORKERS`` (required): JSON object, logical worker name → function name or ARN, e.g.
  ``{"device_state": "shardline-device-state"}``. The dispatcher invokes nothing else
  (and its role may invoke nothing else).
* ``ROUTES`` (required): JSON list of routes, each
  ``{"worker": "<logical name>", "metrics": [...], "sites": [...], "devices": [...]}``
  whose lists are ``fnmatch`` patterns (default ``["*"]``); a record goes to every worker
  whose route matches it (routing.py).
* ``MAX_PAYLOAD_BYTES`` (default 196608, 192 KiB; 4096 to 229376): the largest async
  Invoke payload the dispatcher sends. Lambda accepts 1 MB for async invokes, but when a
  worker gives up on an event its on-failure record carries the whole ``requestPayload``,
  and that record must fit one SQS message (256 KB) with its request and response
  context; 192 KiB leaves room for both.
* ``INVOKE_CONCURRENCY`` (default 8, 1 to 64): Invoke calls in flight at once.
* ``QUARANTINE_TABLE`` (optional), ``QUARANTINE_RETENTION_DAYS`` (default 14): as for the
  aggregator; invalid user records are written there (lambdas/shared/quarantine.py).

A missing or invalid setting raises ``ConfigError`` with one line saying which and why.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.dispatcher.routing import Route
from lambdas.shared.settings import ConfigError, optional, required, whole_number

DEFAULT_MAX_PAYLOAD_BYTES = 192 * 1024
MIN_PAYLOAD_BYTES = 4096
MAX_PAYLOAD_BYTES = 224 * 1024
DEFAULT_QUARANTINE_RETENTION_DAYS = 14
# A function name, partial ARN (<account>:function:<name>) or ARN, with optional qualifier.
_FUNCTION = re.compile(
    r"\A(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?\Z")
_WORKER_NAME = re.compile(r"\A[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
_ROUTE_KEYS = frozenset({"worker", "metrics", "sites", "devices"})


@dataclass(frozen=True, slots=True)
class DispatcherConfig:
    workers: Mapping[str, str]
    routes: tuple[Route, ...]
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    invoke_concurrency: int = 8
    quarantine_table: str | None = None
    quarantine_retention_days: int = DEFAULT_QUARANTINE_RETENTION_DAYS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DispatcherConfig:
        workers = parse_workers(required(environ, "WORKERS",
                                         "a JSON object of worker name -> function name"))
        routes = parse_routes(required(environ, "ROUTES", "a JSON list of routes"), workers)
        return cls(
            workers=workers,
            routes=routes,
            max_payload_bytes=whole_number(environ, "MAX_PAYLOAD_BYTES",
                                           DEFAULT_MAX_PAYLOAD_BYTES,
                                           low=MIN_PAYLOAD_BYTES, high=MAX_PAYLOAD_BYTES),
            invoke_concurrency=whole_number(environ, "INVOKE_CONCURRENCY", 8, low=1, high=64),
            quarantine_table=optional(environ, "QUARANTINE_TABLE"),
            quarantine_retention_days=whole_number(
                environ, "QUARANTINE_RETENTION_DAYS", DEFAULT_QUARANTINE_RETENTION_DAYS,
                low=1, high=365),
        )


def _json(name: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from None


def parse_workers(raw: str) -> dict[str, str]:
    workers = _json("WORKERS", raw)
    if not isinstance(workers, dict) or not workers:
        raise ConfigError("WORKERS must be a non-empty JSON object of name -> function")
    for name, function in workers.items():
        if not _WORKER_NAME.match(name):
            raise ConfigError(f"WORKERS: {name!r} is not a worker name (letters, digits, _ -)")
        if not isinstance(function, str) or not _FUNCTION.match(function):
            raise ConfigError(f"WORKERS[{name!r}] = {function!r} is not a function name or ARN")
    return dict(workers)


def parse_routes(raw: str, workers: Mapping[str, str]) -> tuple[Route, ...]:
    routes = _json("ROUTES", raw)
    if not isinstance(routes, list) or not routes:
        raise ConfigError("ROUTES must be a non-empty JSON list of routes")
    return tuple(_route(index, spec, workers) for index, spec in enumerate(routes))


def _route(index: int, spec: Any, workers: Mapping[str, str]) -> Route:
    where = f"ROUTES[{index}]"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be an object")
    unknown = set(spec) - _ROUTE_KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)}; "
                          f"allowed: {sorted(_ROUTE_KEYS)}")
    worker = spec.get("worker")
    if worker not in workers:
        raise ConfigError(f"{where}.worker {worker!r} is not in WORKERS {sorted(workers)}")
    patterns = {key: _patterns(f"{where}.{key}", spec.get(key, ["*"]))
                for key in ("metrics", "sites", "devices")}
    return Route(worker=worker, **patterns)


def _patterns(where: str, value: Any) -> tuple[str, ...]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(p, str) and p for p in value)):
        raise ConfigError(f"{where} must be a non-empty list of non-empty patterns")
    return tuple(value)


@functools.cache
def get_config() -> DispatcherConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return DispatcherConfig.from_environ(os.environ)


__all__ = ["ConfigError", "DispatcherConfig", "get_config", "parse_routes", "parse_workers"]
