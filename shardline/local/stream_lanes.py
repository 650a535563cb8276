"""The lanes of a stream shard: sub-queues by partition key (ParallelizationFactor).

Records of one partition key always land in the same lane (MD5 of the key modulo the
number of lanes), so they stay in order; each lane has its own batching, retries and
tumbling window. A lane holds its batches in flight as ``Attempt`` objects, and the due
batches of several lanes can be invoked at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.functions import InvocationResult
from shardline.local.stream_records import StreamRecord

MAX_PARALLELIZATION = 10


@dataclass
class Attempt:
    """A batch on its way: invoked, retried, split, or skipped to the destination."""

    records: list[StreamRecord]
    attempts: int = 0  # failed attempts so far (retries consumed)
    invocations: int = 0
    not_before: float = 0.0
    last_result: InvocationResult | None = None
    early: bool = False  # a window-closing invocation for a state past the cap


@dataclass
class Lane:
    """A sub-queue of the shard (all of it unless ParallelizationFactor > 1)."""

    buffer: deque[StreamRecord] = field(default_factory=deque)
    pending: deque[Attempt] = field(default_factory=deque)
    buffered_since: float | None = None
    window_start: int | None = None
    window_state: dict[str, Any] = field(default_factory=dict)
    closing: Attempt | None = None  # the window-closing invocation, until it succeeds

    @property
    def busy(self) -> bool:
        return bool(self.pending) or self.closing is not None


def partition_lane(partition_key: str, lanes: int) -> int:
    """The lane (ParallelizationFactor sub-queue) of a partition key: MD5 modulo lanes."""
    if lanes == 1:
        return 0
    digest = hashlib.md5(partition_key.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % lanes


def reshaped(lanes: list[Lane], wanted: int) -> list[Lane]:
    """``wanted`` lanes holding the buffered records of ``lanes`` (none may be busy),
    each in the lane of its partition key; the first lane keeps the tumbling window."""
    records = sorted((r for lane in lanes for r in lane.buffer), key=lambda r: r.position)
    since = [lane.buffered_since for lane in lanes if lane.buffered_since is not None]
    old = lanes[0]
    new = [Lane() for _ in range(wanted)]
    new[0].window_start, new[0].window_state = old.window_start, old.window_state
    for record in records:
        lane = new[partition_lane(record.partition_key, wanted)]
        lane.buffer.append(record)
        lane.buffered_since = min(since) if since else None
    return new


def invoke_lanes(invoke: Callable[[str, dict[str, Any]], InvocationResult], function: str,
                 events: list[dict[str, Any]], thread_name: str) -> list[InvocationResult]:
    """Invoke ``function`` once per event, each on a thread of its own when there are
    several; an exception raised by any invocation is raised here."""
    if len(events) == 1:
        return [invoke(function, events[0])]
    results: list[InvocationResult | BaseException | None] = [None] * len(events)

    def run(index: int) -> None:
        try:
            results[index] = invoke(function, events[index])
        except BaseException as exc:  # re-raised on the driver's thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), name=thread_name)
               for i in range(len(events))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, InvocationResult)]
