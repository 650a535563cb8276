"""Builders of telemetry user records: valid ones, fleets of them, and specific invalid ones.

Valid records are ``TelemetryV1`` structs (encode them with ``telemetry_bytes`` or hand
them straight to the Kinesis factories). Invalid records are raw bytes, because most of
them cannot be expressed as a struct; ``INVALID_RECORDS`` names one of each kind for
parametrised tests. ``expected_stats`` computes the ground truth that aggregates must
equal, independently of the aggregator's code.

Times are event times in ms since the epoch; ``BASE_TS_MS`` is the start of a minute.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from lambdas.aggregator.records import read_record
from lambdas.aggregator.window_state import WindowAggregate
from lambdas.shared.aggregates import Stats, bucket_start
from lambdas.shared.telemetry import TelemetryV1, encode, new_v1

BASE_TS_MS = 1_763_899_980_000  # 2025-11-23T12:13:00Z
DEFAULT_DEVICE_ID = "dev-00001"
DEFAULT_SITE = "plant-a"
DEFAULT_METRICS: dict[str, float] = {"temperature_c": 21.4, "humidity_pct": 40.2, "battery_v": 3.71}


def telemetry_record(
    device_id: str = DEFAULT_DEVICE_ID,
    *,
    site: str = DEFAULT_SITE,
    ts: int = BASE_TS_MS,
    seq: int = 0,
    metrics: Mapping[str, float] | None = None,
) -> TelemetryV1:
    """One valid v1 record (the example of DESIGN.md unless told otherwise)."""
    return new_v1(device_id, site, ts, seq, dict(DEFAULT_METRICS if metrics is None else metrics))


def telemetry_bytes(record: TelemetryV1 | None = None, **fields: Any) -> bytes:
    """The bytes a device puts on the stream for ``record`` (or ``telemetry_record(**fields)``)."""
    return encode(record if record is not None else telemetry_record(**fields))


def telemetry_json(**fields: Any) -> dict[str, Any]:
    """A valid record as a JSON object, for tests that mutate fields before encoding."""
    return json.loads(telemetry_bytes(**fields))


def device_series(
    device_id: str = DEFAULT_DEVICE_ID,
    count: int = 10,
    *,
    site: str = DEFAULT_SITE,
    start_ms: int = BASE_TS_MS,
    interval_ms: int = 1_000,
    first_seq: int = 0,
    seed: int | None = 0,
    metric_names: Iterable[str] = tuple(DEFAULT_METRICS),
) -> list[TelemetryV1]:
    """``count`` records of one device at a fixed interval, values with one decimal."""
    rng = random.Random(f"{seed}:{device_id}")
    names = tuple(metric_names)
    return [
        telemetry_record(
            device_id,
            site=site,
            ts=start_ms + index * interval_ms,
            seq=first_seq + index,
            metrics={name: round(rng.uniform(-20.0, 80.0), 1) for name in names},
        )
        for index in range(count)
    ]


def fleet_records(
    devices: int = 3,
    per_device: int = 10,
    *,
    sites: Iterable[str] = ("plant-a", "plant-b"),
    start_ms: int = BASE_TS_MS,
    interval_ms: int = 1_000,
    seed: int | None = 0,
) -> list[TelemetryV1]:
    """Records of ``devices`` devices (``dev-00000``...), interleaved in event-time order."""
    site_list = tuple(sites)
    records = [
        record
        for index in range(devices)
        for record in device_series(
            f"dev-{index:05d}",
            per_device,
            site=site_list[index % len(site_list)],
            start_ms=start_ms + index,  # distinct instants keep the order deterministic
            interval_ms=interval_ms,
            seed=seed,
        )
    ]
    return sorted(records, key=lambda record: (record.ts, record.device_id))


def expected_stats(records: Iterable[TelemetryV1]) -> dict[tuple[str, str, int], Stats]:
    """Ground truth per (device, metric, minute bucket), straight from the records."""
    values: dict[tuple[str, str, int], list[Decimal]] = {}
    for record in records:
        for name, value in record.metrics.items():
            key = (record.device_id, name, bucket_start(record.ts))
            values.setdefault(key, []).append(Decimal(repr(value)))
    return {
        key: Stats(len(vs), sum(vs, Decimal(0)), min(vs), max(vs), sum((v * v for v in vs),
                                                                       Decimal(0)))
        for key, vs in values.items()
    }


# Invalid user records -------------------------------------------------------------------


def _with(changes: Mapping[str, Any], drop: Iterable[str] = ()) -> bytes:
    body = telemetry_json()
    body.update(changes)
    for name in drop:
        body.pop(name, None)
    return json.dumps(body, separators=(",", ":")).encode()


def malformed_json() -> bytes:
    return b'{"v":1,"device_id":"dev-00001","site":'


def not_utf8() -> bytes:
    return b"\xff\xfe\x00binary"


def unknown_version(version: Any = 2) -> bytes:
    return _with({"v": version})


def missing_version() -> bytes:
    """No ``v`` at all. Note: the v1 decoder currently accepts this as v1 (msgspec makes
    the tag optional while ``KNOWN_VERSIONS`` is a single struct), so it is not listed in
    ``INVALID_RECORDS``."""
    return _with({}, drop=("v",))


def missing_field(name: str = "ts") -> bytes:
    return _with({}, drop=(name,))


def bad_field(name: str, value: Any) -> bytes:
    """A record whose ``name`` field is ``value`` (e.g. ``bad_field("device_id", "a b")``)."""
    return _with({name: value})


def extra_field(name: str = "firmware", value: Any = "1.2.3") -> bytes:
    return _with({name: value})


def non_finite_metric(metric: str = "temperature_c") -> bytes:
    """A metric overflowing a double (``1e999``): JSON has no literal for infinities."""
    body = telemetry_json()
    text = json.dumps(body, separators=(",", ":"))
    return text.replace(f'"{metric}":{body["metrics"][metric]!r}', f'"{metric}":1e999').encode()


def unstorable_metric(metric: str = "temperature_c", value: float = 1e200) -> bytes:
    """Valid JSON and schema, but a magnitude DynamoDB cannot hold in a sum of squares."""
    return _with({"metrics": {metric: value}})


INVALID_RECORDS: dict[str, bytes] = {
    "malformed_json": malformed_json(),
    "not_utf8": not_utf8(),
    "empty": b"",
    "json_array": b"[1,2,3]",
    "unknown_version": unknown_version(2),
    "missing_ts": missing_field("ts"),
    "missing_metrics": missing_field("metrics"),
    "bad_device_id": bad_field("device_id", "dev 42!"),
    "bad_site": bad_field("site", ""),
    "ts_before_2020": bad_field("ts", 1_000),
    "negative_seq": bad_field("seq", -1),
    "metric_is_string": bad_field("metrics", {"temperature_c": "21.4"}),
    "bad_metric_name": bad_field("metrics", {"Temperature C": 21.4}),
    "no_metrics": bad_field("metrics", {}),
    "extra_field": extra_field(),
    "non_finite_metric": non_finite_metric(),
    "unstorable_metric": unstorable_metric(),
}
"""One of each kind of invalid user record. All but ``unstorable_metric`` violate the
telemetry contract itself; that one is refused by the aggregator (DynamoDB number range)."""


def window_aggregate(records: Iterable[TelemetryV1], first_sequence: int = 1_000
                     ) -> WindowAggregate:
    """A window state holding ``records``, one Kinesis record each, numbered from
    ``first_sequence`` (read and folded as the aggregator does)."""
    aggregate = WindowAggregate()
    for offset, record in enumerate(records):
        aggregate.commit(read_record(str(first_sequence + offset), telemetry_bytes(record)))
    return aggregate
