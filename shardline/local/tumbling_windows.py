"""Tumbling windows of a stream mapping (TumblingWindowInSeconds): aligned by arrival
time, the fields a window adds to the event, when a lane's window is over, and the size
of the state the handler carries between invocations (capped at 1 MB)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shardline.local.stream_lanes import Lane
from shardline.local.stream_records import StreamRecord

WINDOW_STATE_CAP_BYTES = 1024 * 1024


def window_iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_of(record: StreamRecord, size_s: int) -> int:
    """The start of the window (``size_s`` seconds, aligned) the record arrived in."""
    return int(record.arrival // size_s * size_s)


def window_over(lane: Lane, size_s: int, *, shard_ended: bool, caught_up_at: float) -> bool:
    """Every record of the lane's open window is done and no more can arrive."""
    if size_s <= 0 or lane.window_start is None or lane.busy:
        return False
    if lane.buffer:
        # Records of a later window wait behind this window's final invoke.
        return window_of(lane.buffer[0], size_s) != lane.window_start
    # Only a poll that started after the window ended has seen all of its records;
    # a shard that ended (resharded) closes its window: its children start afresh.
    return shard_ended or caught_up_at >= lane.window_start + size_s


def window_fields(start: int, size_s: int, state: dict[str, Any], *, shard_id: str,
                  stream_arn: str, final: bool, early: bool) -> dict[str, Any]:
    """What a tumbling window adds to the event the function receives."""
    return {
        "window": {"start": window_iso(start), "end": window_iso(start + size_s)},
        "state": state,
        "shardId": shard_id,
        "eventSourceARN": stream_arn,
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": early,
    }


def state_bytes(state: dict[str, Any]) -> int:
    return len(json.dumps(state, separators=(",", ":")).encode())
