"""Units of each function's concurrency in use, for the Invoke API and the async queues.

An invocation is admitted while fewer invocations of the function are running than its
reserved concurrency (none reserved: always); otherwise it is throttled
(``TooManyRequestsException`` for a synchronous call, back to the queue for an
asynchronous event).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from shardline.local.scheduling import Clock


@dataclass
class ConcurrencyLedger:
    """Invocations in flight per function (unqualified ARN)."""

    clock: Clock
    # Virtual clock (deterministic runs): asynchronous invocations hold their unit for
    # their duration in virtual time (``slot``).
    virtual: bool = False
    _in_flight: dict[str, int] = field(default_factory=dict)
    # When the asynchronous invocations that ran at an instant end in virtual time.
    _held_until: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def slot(self, function_arn: str, reserved: int | None, *,
              asynchronous: bool = False) -> Iterator[bool]:
        """Hold one unit of the function's concurrency while the block runs, if any is left.

        On the virtual clock an asynchronous attempt takes no virtual time, yet on AWS
        the queue does not wait for one event's invocation before it starts the next: the
        attempt keeps its unit until as long after its start as it really ran, so events
        due at one instant run side by side up to the reservation and the rest are
        throttled. (Synchronous calls are the caller's: one after another, they do not
        overlap.)
        """
        with self._lock:
            running = self._in_flight.get(function_arn, 0) + self._held(function_arn)
            if reserved is not None and running >= reserved:
                admitted = False
            else:
                admitted = True
                self._in_flight[function_arn] = self._in_flight.get(function_arn, 0) + 1
        began = time.perf_counter()
        try:
            yield admitted
        finally:
            if admitted:
                with self._lock:
                    self._in_flight[function_arn] -= 1
                    if asynchronous and self.virtual:
                        self._held_until.setdefault(function_arn, []).append(
                            self.clock.now() + time.perf_counter() - began)

    def _held(self, function_arn: str) -> int:
        """Asynchronous invocations still running in virtual time (virtual clock only)."""
        now = self.clock.now()
        held = [until for until in self._held_until.get(function_arn, []) if until > now]
        self._held_until[function_arn] = held
        return len(held)

