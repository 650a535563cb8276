"""Forming the batches of a stream lane: BatchSize, MaximumBatchingWindowInSeconds, the
6 MB invocation payload, tumbling window boundaries, and MaximumRecordAgeInSeconds."""

from __future__ import annotations

import math

from shardline.local.stream_lanes import Lane
from shardline.local.stream_records import StreamRecord
from shardline.local.tumbling_windows import window_of

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


def take_ready_batch(lane: Lane, now: float, *, batch_size: int, batching_window_s: float,
                     tumbling_window_s: int) -> tuple[list[StreamRecord], float]:
    """Take the next batch off the lane's buffer if it is due (full, at a window
    boundary, or its batching window has passed); else say when it will be."""
    if not lane.buffer:
        lane.buffered_since = None
        return [], math.inf
    window = window_of(lane.buffer[0], tumbling_window_s) if tumbling_window_s > 0 else None
    batch: list[StreamRecord] = []
    size = 0
    boundary = False
    for record in lane.buffer:
        if (len(batch) == batch_size
                or (window is not None and window_of(record, tumbling_window_s) != window)
                or (batch and size + record.size > MAX_PAYLOAD_BYTES)):
            boundary = True
            break
        batch.append(record)
        size += record.size
    since = lane.buffered_since if lane.buffered_since is not None else now
    deadline = since + batching_window_s
    if window is not None:
        deadline = min(deadline, window + tumbling_window_s)
    if not (boundary or len(batch) >= batch_size or now >= deadline):
        return [], deadline
    for _ in batch:
        lane.buffer.popleft()
    if not lane.buffer:
        lane.buffered_since = None
    return batch, now


def expired_count(records: list[StreamRecord], now: float, maximum_record_age_s: int) -> int:
    """How many of the first records are older than MaximumRecordAgeInSeconds (-1: no
    limit)."""
    if maximum_record_age_s == -1:
        return 0
    expired = 0
    while expired < len(records) and now - records[expired].arrival > maximum_record_age_s:
        expired += 1
    return expired
