"""The tumbling-window envelope of a Kinesis event, as Lambda delivers it to the aggregator.

``WindowInvocation.from_event`` reads the window bounds (AWS's ISO-8601 timestamps), the
shard, the state carried from the previous invocation of the same shard window, the
``isFinalInvokeForWindow`` / ``isWindowTerminatedEarly`` flags, and the ``replay`` marker
``shardline dlq replay`` adds when it re-drives a failed batch. An event without a window is
a misconfigured event source mapping (``InvalidWindowEvent``), not a record failure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Partials of a failed batch re-driven by ``shardline dlq replay`` carry this SK segment:
# deterministic (the batch's first sequence number), so replaying twice rewrites the same
# items, and never equal to a window piece's segment (a bare sequence number).
REPLAY_SEGMENT = re.compile(r"replay-[0-9]{1,128}")


class InvalidWindowEvent(ValueError):
    """The event is not a Kinesis tumbling-window event (misconfigured event source mapping)."""


def parse_aws_timestamp(text: str) -> int:
    """Epoch seconds of an ISO-8601 timestamp as Lambda sends it ("2020-07-30T17:00:00Z").

    Fractional seconds and explicit offsets are accepted; a timestamp without a zone is UTC.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError) as exc:
        raise InvalidWindowEvent(f"window timestamp {text!r} is not ISO-8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() // 1)


@dataclass(frozen=True, slots=True)
class WindowInvocation:
    """The tumbling-window part of a Kinesis event."""

    shard_id: str
    window_start_s: int
    window_end_s: int
    state: Mapping[str, Any]
    is_final: bool = False
    terminated_early: bool = False
    event_source_arn: str | None = None
    # Set only by ``shardline dlq replay``: the SK segment of the re-driven batch's partials.
    replay_segment: str | None = None

    @property
    def closes_window(self) -> bool:
        """This invocation ends the window (or its current piece): flush, restart state."""
        return self.is_final or self.terminated_early

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WindowInvocation:
        window = event.get("window")
        if not isinstance(window, Mapping) or "start" not in window or "end" not in window:
            raise InvalidWindowEvent(
                "event has no tumbling window: the event source mapping needs "
                "TumblingWindowInSeconds > 0"
            )
        shard_id = event.get("shardId") or _shard_from_records(event.get("Records") or [])
        if not shard_id:
            raise InvalidWindowEvent("event names no shardId")
        state = event.get("state") or {}
        if not isinstance(state, Mapping):
            raise InvalidWindowEvent(f"window state is a {type(state).__name__}, not an object")
        replay = event.get("replay")
        replay_segment = None
        if replay is not None:
            replay_segment = replay.get("segment") if isinstance(replay, Mapping) else None
            if not isinstance(replay_segment, str) or not REPLAY_SEGMENT.fullmatch(
                replay_segment
            ):
                raise InvalidWindowEvent(
                    f"replay segment {replay_segment!r} is not replay-<sequence number>"
                )
        return cls(
            shard_id=str(shard_id),
            window_start_s=parse_aws_timestamp(window["start"]),
            window_end_s=parse_aws_timestamp(window["end"]),
            state=state,
            is_final=bool(event.get("isFinalInvokeForWindow")),
            terminated_early=bool(event.get("isWindowTerminatedEarly")),
            event_source_arn=event.get("eventSourceARN"),
            replay_segment=replay_segment,
        )


def _shard_from_records(records: list[Mapping[str, Any]]) -> str | None:
    # eventID is "<shard id>:<sequence number>"
    for record in records:
        event_id = record.get("eventID") or ""
        if ":" in event_id:
            return event_id.split(":", 1)[0]
    return None


__all__ = ["REPLAY_SEGMENT", "InvalidWindowEvent", "WindowInvocation", "parse_aws_timestamp"]
