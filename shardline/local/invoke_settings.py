"""A function's asynchronous-invocation settings and reserved concurrency, read through the
Lambda API (``GetFunctionEventInvokeConfig``, ``GetFunctionConcurrency``) for every
attempt, or at most every ``ttl_s`` per function when that is set — so a change applies
to the next attempt, as on AWS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.invoke_model import EventInvokeConfig
from shardline.local.scheduling import Clock
from shardline.local.versions import split_qualifier

CONFIG_TTL_S = 0.0  # read the settings for every attempt


@dataclass
class _Cached:
    value: Any
    read_at: float


@dataclass
class InvokeSettings:
    """What the Invoke API and the asynchronous queues read about a function."""

    client: Callable[[str], Any]  # service name -> a (reused) client of the embedded AWS
    clock: Clock
    ttl_s: float = CONFIG_TTL_S
    _configs: dict[str, _Cached] = field(default_factory=dict)
    _reserved: dict[str, _Cached] = field(default_factory=dict)

    def event_invoke_config(self, function_arn: str) -> EventInvokeConfig:
        def read() -> EventInvokeConfig:
            client = self.client("lambda")
            try:
                data = client.get_function_event_invoke_config(FunctionName=function_arn)
            except client.exceptions.ResourceNotFoundException:
                return EventInvokeConfig()
            return EventInvokeConfig.from_api(data)

        return self._cached(self._configs, function_arn, read)

    def reserved_concurrency(self, function_arn: str) -> int | None:
        """The function's reserved concurrency; None: none reserved."""
        def read() -> int | None:
            # Reserved concurrency is the function's, shared by all its versions.
            data = self.client("lambda").get_function_concurrency(
                FunctionName=split_qualifier(function_arn)[0])
            value = data.get("ReservedConcurrentExecutions")
            return None if value is None else int(value)

        return self._cached(self._reserved, function_arn, read)

    def _cached(self, cache: dict[str, _Cached], key: str, read: Callable[[], Any]) -> Any:
        now = self.clock.now()
        entry = cache.get(key)
        if entry is None or now - entry.read_at >= self.ttl_s or now < entry.read_at:
            entry = _Cached(read(), now)
            cache[key] = entry
        return entry.value
