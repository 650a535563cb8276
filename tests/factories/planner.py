"""Deployments and workloads for the planner's unit tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shardline.planner.model import Workload
from shardline.planner.settings import BatchSettings, Deployment


def deployment_of(**overrides: Any) -> Deployment:
    """A deployment shaped like terraform/variables.tf's defaults (written out here, so a
    test states the settings it depends on)."""
    base = Deployment(
        region="us-east-1", architecture="x86_64",
        aggregator=BatchSettings(batch_size=500, batching_window_s=5.0),
        tumbling_window_s=60,
        rollup=BatchSettings(batch_size=500, batching_window_s=5.0),
        dispatcher=BatchSettings(batch_size=500, batching_window_s=1.0),
        dispatcher_max_payload_bytes=196_608,
        memory_mb={"aggregator": 512, "rollup": 256, "scheduled_rollup": 512,
                   "dispatcher": 512, "device_state": 256, "alerts": 256, "archive": 256},
        schedule_interval_s=300, settle_seconds=60, minute_retention_days=30,
        rollup_retention_days=365, archive_retention_days=365, fanout_enabled=True,
        routes=("device_state", "alerts", "archive"), log_retention_days=30,
        stream_retention_hours=24, log_level="INFO")
    return replace(base, **overrides)


def workload_of(**overrides: Any) -> Workload:
    """A small live fleet: 100 devices at 1 Hz, 200-byte records, 3 metrics."""
    values: dict[str, Any] = {"devices": 100, "hz": 1.0, "record_bytes": 200, "metrics": 3}
    values.update(overrides)
    return Workload(**values)
