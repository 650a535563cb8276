"""Observability of a running stack: a status snapshot, written every second.

The stack process writes ``status.json`` in its state folder (a driver component, so it
runs on the same clock as everything else); ``shardline local status`` reads it from any
other process. Per mapping and shard: checkpoint, buffered records, iterator age (how far
the consumer is behind the newest record it has seen), invocations, errors, retries, and
the open tumbling window.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shardline.errors import ShardlineError

STATUS_FILE = "status.json"
STALE_AFTER_S = 10.0


def consumer_status(consumer: Any, now: float) -> dict[str, Any]:
    """A consumer's counters, read defensively (consumers of every source type)."""
    buffer = getattr(consumer, "buffer", None) or []
    oldest = getattr(buffer[0], "arrival", None) if buffer else None
    mapping = consumer.mapping
    return {
        "mapping": mapping.uuid,
        "function": ":".join(mapping.function_arn.split(":")[6:]),  # name[:alias]
        "source": mapping.source_arn,
        "shard": getattr(consumer, "shard_id", ""),
        "checkpoint": getattr(consumer, "checkpoint", None),
        "buffered": len(buffer),
        "iterator_age_s": round(now - oldest, 3) if oldest is not None else 0.0,
        "invocations": getattr(consumer, "invocations", 0),
        "errors": getattr(consumer, "errors", 0),
        "retries": getattr(consumer, "retries", 0),
        "window_start": getattr(consumer, "window_start", None),
        "last_poll_at": getattr(consumer, "last_poll_at", None),
        "problem": getattr(getattr(consumer, "access", None), "reason", None),
    }


@dataclass
class StatusWriter:
    """Driver component writing ``status.json`` every ``interval_s``."""

    engine: Any
    directory: Path
    interval_s: float = 1.0
    name: str = "status-writer"

    def step(self, now: float) -> float:
        write_status(self.directory, snapshot(self.engine, now))
        return now + self.interval_s


def snapshot(engine: Any, now: float) -> dict[str, Any]:
    outcomes = Counter(inv.outcome for inv in list(engine.invocation_log))
    return {
        "written_at": now,
        "pid": os.getpid(),
        "consumers": [consumer_status(c, now) for c in engine.consumers()],
        "invocations_by_outcome": dict(outcomes),
        # Mappings whose execution role was denied before they could start reading.
        "blocked": [{"mapping": uuid, "shard": shard, "problem": problem.reason}
                    for (uuid, shard), problem in dict(getattr(engine, "blocked", {})).items()],
        "access_denials": [d.describe() for d in getattr(engine, "denials", list)()[-20:]],
    }


def write_status(directory: Path, status: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{STATUS_FILE}.tmp"
    temporary.write_text(json.dumps(status, default=str))
    temporary.replace(directory / STATUS_FILE)


def read_status(directory: Path, *, now: float | None = None) -> dict[str, Any]:
    path = directory / STATUS_FILE
    try:
        status = json.loads(path.read_text())
    except FileNotFoundError:
        raise ShardlineError("no local stack status: is a stack up? "
                             "(`shardline local up --detach`)") from None
    except json.JSONDecodeError:
        raise ShardlineError(f"unreadable status file {path}") from None
    age = (now if now is not None else time.time()) - float(status.get("written_at", 0))
    if age > STALE_AFTER_S:
        raise ShardlineError(f"the local stack's status is {age:.0f} s old: the stack is "
                             "not running (stale files in the state folder)")
    return status
