"""``shardline devices``: every device's state from the fanout's device-state table.

The table's layout is documented in ``lambdas/device_state/state.py``: one ``STATE`` item
per device (last seen = event time of its newest reading) and one ``M#<metric>`` item per
metric (its latest value). A device is *offline* when it has been silent for longer than
``offline_after_s`` — decided here, at read time, against the reader's clock; the
threshold comes from the stack's Terraform output ``device_offline_after_seconds``.

Names come from the stack's outputs (``device_state_table_name``) when a local stack has
run here; otherwise the defaults Terraform gives them with the default prefix.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lambdas.shared.dynamo import read_items
from shardline.stack_outputs import StackOutputs

DEFAULT_TABLE = "shardline-device-state"
DEFAULT_OFFLINE_AFTER_S = 300


@dataclass
class DeviceState:
    device_id: str
    site: str = ""
    last_seen_ms: int = 0
    metrics: dict[str, Decimal] = field(default_factory=dict)

    def online(self, now_s: float, offline_after_s: float) -> bool:
        return now_s - self.last_seen_ms / 1000 <= offline_after_s

    def as_row(self, now_s: float, offline_after_s: float) -> dict[str, Any]:
        seen = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.last_seen_ms / 1000))
        return {
            "device": self.device_id, "site": self.site,
            "status": "online" if self.online(now_s, offline_after_s) else "offline",
            "last_seen": f"{seen}.{self.last_seen_ms % 1000:03d}Z",
            "silent_s": max(0, round(now_s - self.last_seen_ms / 1000)),
            **{name: str(value) for name, value in sorted(self.metrics.items())},
        }


def states_from_items(items: Iterable[Mapping[str, Any]]) -> list[DeviceState]:
    """Group the table's items into one state per device, sorted by device id."""
    devices: dict[str, DeviceState] = {}
    for item in items:
        device_id = str(item.get("device_id", ""))
        state = devices.setdefault(device_id, DeviceState(device_id))
        if item.get("SK") == "STATE":
            state.site = str(item.get("site", ""))
            state.last_seen_ms = int(item.get("ts_ms", 0))
        elif str(item.get("SK", "")).startswith("M#"):
            state.metrics[str(item["metric"])] = Decimal(item["value"])
    return [devices[d] for d in sorted(devices)]


class DeviceStateReader:
    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name, self.client = table_name, client

    def states(self) -> list[DeviceState]:
        return states_from_items(read_items(self.client, "scan", TableName=self.table_name))


def rows(states: Iterable[DeviceState], *, offline_after_s: float,
         now_s: float | None = None) -> list[dict[str, Any]]:
    """One row per device; metric columns are the union of every device's metrics."""
    now = time.time() if now_s is None else now_s
    found = [state.as_row(now, offline_after_s) for state in states]
    metrics = sorted({key for row in found for key in row} - set(_FIXED_COLUMNS))
    return [{**{c: row[c] for c in _FIXED_COLUMNS}, **{m: row.get(m, "") for m in metrics}}
            for row in found]


_FIXED_COLUMNS = ("device", "site", "status", "last_seen", "silent_s")


def stack_settings(outputs: StackOutputs) -> tuple[str, int]:
    """(device-state table, offline threshold) from the stack's Terraform outputs, else
    the defaults."""
    offline = outputs.get("device_offline_after_seconds")
    return (outputs.name("device_state_table_name", flag="--table", fallback=DEFAULT_TABLE),
            int(offline) if offline is not None else DEFAULT_OFFLINE_AFTER_S)


__all__ = ["DeviceState", "DeviceStateReader", "rows", "stack_settings", "states_from_items"]
