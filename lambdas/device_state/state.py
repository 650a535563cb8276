"""Latest readings per device (pure): the item layout and the fold of one payload.

DynamoDB layout of ``<prefix>-device-state`` (PK/SK strings):

=================  ====================  ===================================================
item               PK                    SK / attributes
=================  ====================  ===================================================
device             ``DEV#<device_id>``   ``STATE``: device_id, site, ts_ms (= last seen,
                                         event time of the newest reading), seq, boot,
                                         arrival_s (of that reading)
latest per metric  ``DEV#<device_id>``   ``M#<metric>``: device_id, metric, value (exact,
                                         as written), ts_ms, seq, site
=================  ====================  ===================================================

Every item is written with ``UpdateItem`` conditional on its ``(ts_ms, seq)``: applied
only when the reading is newer than the stored one (``newer_than_stored``). Hence an older
reading never overwrites a newer one, whatever order payloads arrive in, and the same
payload twice changes nothing (a copy is not *newer*: its write is skipped). Each metric
has its own item and condition, so a late reading still sets a metric that the newer
readings did not carry.

Offline is computed at read time: a device is offline when ``now - ts_ms`` exceeds
``OFFLINE_AFTER_SECONDS``. Nothing has to run for a device to *become* offline (a silent
device produces no invocation that could mark it), the threshold can change without
rewriting items, and the state never disagrees with the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lambdas.shared.telemetry import Telemetry

DEVICE_PREFIX = "DEV#"
STATE_SK = "STATE"
METRIC_PREFIX = "M#"

# The condition every write carries: the item is absent or holds an older reading.
NEWER_THAN_STORED = ("attribute_not_exists(PK) OR ts_ms < :ts "
                     "OR (ts_ms = :ts AND seq < :seq)")


def order_key(ts_ms: int, seq: int) -> tuple[int, int]:
    return ts_ms, seq


@dataclass(slots=True)
class Latest:
    """The newest value seen for one item in this payload."""

    ts_ms: int
    seq: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class DeviceFold:
    """Per device: the newest reading and the newest value of each metric."""

    device: Latest | None = None
    metrics: dict[str, Latest] = field(default_factory=dict)


def _newer(current: Latest | None, ts_ms: int, seq: int) -> bool:
    return current is None or order_key(ts_ms, seq) > order_key(current.ts_ms, current.seq)


def fold(readings: Iterable[tuple[Telemetry, float | None]]) -> dict[str, DeviceFold]:
    """Reduce a payload's readings to one candidate write per item (fewer round trips;
    the conditional writes decide against what is stored)."""
    devices: dict[str, DeviceFold] = {}
    for record, arrival_s in readings:
        state = devices.setdefault(record.device_id, DeviceFold())
        if _newer(state.device, record.ts, record.seq):
            attributes = {"device_id": record.device_id, "site": record.site,
                          "boot": record.boot, "kind": "device"}
            if arrival_s is not None:
                attributes["arrival_s"] = Decimal(str(round(float(arrival_s), 3)))
            state.device = Latest(record.ts, record.seq, attributes)
        for metric, value in record.metrics.items():
            if _newer(state.metrics.get(metric), record.ts, record.seq):
                state.metrics[metric] = Latest(record.ts, record.seq, {
                    "device_id": record.device_id, "metric": metric, "site": record.site,
                    "value": Decimal(value), "kind": "metric"})
    return devices


@dataclass(frozen=True, slots=True)
class ConditionalWrite:
    key: dict[str, str]
    ts_ms: int
    seq: int
    attributes: dict[str, Any]


def writes(devices: dict[str, DeviceFold]) -> list[ConditionalWrite]:
    out: list[ConditionalWrite] = []
    for device_id, state in devices.items():
        pk = f"{DEVICE_PREFIX}{device_id}"
        if state.device is not None:
            out.append(ConditionalWrite({"PK": pk, "SK": STATE_SK}, state.device.ts_ms,
                                        state.device.seq, state.device.attributes))
        for metric, latest in state.metrics.items():
            out.append(ConditionalWrite({"PK": pk, "SK": f"{METRIC_PREFIX}{metric}"},
                                        latest.ts_ms, latest.seq, latest.attributes))
    return out


__all__ = ["NEWER_THAN_STORED", "ConditionalWrite", "DeviceFold", "fold", "writes"]
