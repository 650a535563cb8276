"""The capacity model: what a fleet costs the platform over a period, as deployed.

Pure arithmetic on a ``Workload`` (the fleet) and a ``Deployment`` (the settings read
from Terraform). Counts follow what the code does:

* the aggregator is invoked per shard once per batch (``BatchSize`` records, or what
  arrived within ``MaximumBatchingWindowInSeconds``, polled once a second) plus once per
  tumbling window for its final invoke; each closed window writes one partial per
  (device, event minute) it holds (``lambdas/shared/partials.py``), however many readings;
* every partial write reaches the rollup through the table's stream and rewrites the
  device-minute's totals, one per metric (``lambdas/rollup``), plus a pending-hour
  marker per (hour, marker shard) of each rollup batch (``lambdas/shared/markers.py``);
* the scheduled rollup recomputes each pending hour's 5-minute and hourly roll-ups per
  device, site and the fleet on every run (``lambdas/scheduled_rollup``);
* with fanout, the dispatcher (EFO) hands each batch to every routed worker.

``speed`` is event time per arrival time: 1 for live devices, more for a backlog
replayed at once. Durations of invocations and item sizes are estimates (``ASSUMED``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from lambdas.aggregator.window_state import DEFAULT_SEAL_BYTES
from lambdas.shared.markers import PENDING_SHARDS
from shardline.planner.settings import BatchSettings, Deployment
from shardline.planner.stream import StreamLoad, stream_load

MONTH_S = 730 * 3600  # the month AWS prices use: 730 hours
KB = 1024
GB = 1024**3
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
KINESIS_POLL_S = 1.0  # Lambda polls a Kinesis shard once a second
DDB_PARTITION_WRITE_UNITS = 1000  # per second; a stream shard per partition
DDB_ITEM_OVERHEAD = 100  # bytes DynamoDB adds to each item's storage
ROLLUPS_PER_HOUR = 13  # twelve 5-minute periods and the hour
ALERT_RULES = 2  # modules/fanout's default rules; an alert state item per device and rule

# Estimates, not measurements of AWS: change them here, and say so in docs/planning.md.
ASSUMED = {
    "partial_base_bytes": 260,  # keys and attributes of a partial, without readings
    "reading_bytes_base": 14,  # "<seq> <ms>" and the separator, per reading
    "reading_bytes_per_metric": 6,  # "21.4," per value
    "total_bytes": 300,  # one minute total (keys, statistics, GSI keys)
    "index_bytes": 220,  # its copy in the by_hour index
    "rollup_bytes": 280,
    "marker_bytes": 80,
    "archive_gzip_ratio": 0.25,  # gzipped JSON Lines / raw JSON
    "log_bytes_per_invocation": 2048,  # START/END/REPORT, summary line, metrics (INFO)
    "debug_log_factor": 3.0,
}
# Duration of one invocation: (fixed ms, ms per user record or item handled).
DURATION_MS = {
    "aggregator": (40.0, 0.03), "rollup": (30.0, 4.0), "scheduled_rollup": (300.0, 0.05),
    "dispatcher": (40.0, 0.03), "device_state": (30.0, 0.05), "alerts": (30.0, 0.05),
    "archive": (60.0, 0.02),
}


@dataclass(frozen=True)
class Workload:
    """The fleet: ``hz`` readings per device per second of event time, ``record_bytes``
    per user record (its JSON), ``metrics`` per reading."""

    devices: int
    hz: float
    record_bytes: int
    metrics: int = 3
    sites: int = 5
    aggregate: bool = True
    fanout: bool = True
    speed: float = 1.0
    shards: int | None = None
    event_seconds: float = MONTH_S

    def __post_init__(self) -> None:
        checks = [(self.devices >= 1, "devices must be >= 1"),
                  (self.hz > 0, "hz must be > 0"),
                  (self.record_bytes >= 1, "bytes must be >= 1"),
                  (self.metrics >= 1, "metrics must be >= 1"),
                  (self.sites >= 1, "sites must be >= 1"),
                  (self.speed >= 1, "speed must be >= 1"),
                  (self.event_seconds > 0, "the period must be > 0 seconds"),
                  (self.shards is None or self.shards >= 1, "shards must be >= 1")]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def wall_seconds(self) -> float:
        return self.event_seconds / self.speed

    @property
    def user_records(self) -> float:
        return self.devices * self.hz * self.event_seconds

    @property
    def device_minutes(self) -> float:
        """(device, event minute) pairs holding at least one reading."""
        return self.devices * self.event_seconds / 60 * min(1.0, 60 * self.hz)


@dataclass
class FunctionUsage:
    invocations: float = 0.0
    gb_seconds: float = 0.0
    peak_concurrency: float = 0.0
    mean_concurrency: float = 0.0


@dataclass
class TableUsage:
    items_written: float = 0.0
    write_units: float = 0.0
    read_units: float = 0.0
    storage_bytes: float = 0.0


@dataclass
class Plan:
    workload: Workload
    stream: StreamLoad
    functions: dict[str, FunctionUsage] = field(default_factory=dict)
    tables: dict[str, TableUsage] = field(default_factory=dict)
    archive_objects: float = 0.0
    archive_list_requests: float = 0.0
    archive_bytes: float = 0.0  # stored at steady state
    log_bytes: float = 0.0
    items_by_writer: dict[str, float] = field(default_factory=dict)  # aggregates table
    units_by_writer: dict[str, float] = field(default_factory=dict)  # ... its write units
    notes: list[str] = field(default_factory=list)
    durations: Mapping[str, tuple[float, float]] = field(default_factory=lambda: DURATION_MS)

    @property
    def seconds(self) -> float:
        return self.workload.wall_seconds

    def busy_s(self, function: str, mapping: BatchSettings, records_per_s: float) -> float:
        """How long one invocation of a stream consumer lasts, with the records one
        batching period gathers: a shard's next batch waits for it."""
        fixed_ms, per_item_ms = self.durations[function]
        gathered = min(mapping.batch_size,
                       records_per_s * max(mapping.batching_window_s, KINESIS_POLL_S))
        return (fixed_ms + per_item_ms * gathered) / 1000


def batches(records: float, wall_s: float, mapping: BatchSettings, poll_s: float,
            record_bytes: float = 1.0, busy_s: float = 0.0) -> float:
    """Invocations a stream mapping makes for ``records`` arriving over ``wall_s`` on one
    shard: full batches, or one per batching window (at least one poll, and not before
    the previous invocation, ``busy_s`` long, has returned) when fewer arrive."""
    if records <= 0:
        return 0.0
    limit = min(mapping.batch_size, max(1, LAMBDA_PAYLOAD_BYTES // max(1, record_bytes * 4 / 3)))
    period = max(mapping.batching_window_s, poll_s, busy_s)
    per_period = records / max(1.0, wall_s / period)
    if per_period <= 1:
        return max(records, 1.0)  # a trickle: each record alone
    # each period's records leave in full batches and one partial batch
    return max(1.0, wall_s / period) * math.ceil(per_period / limit)


def _usage(name: str, plan: Plan, deployment: Deployment, invocations: float, items: float,
           peak: float) -> FunctionUsage:
    fixed_ms, per_item_ms = plan.durations[name]
    seconds = (invocations * fixed_ms + items * per_item_ms) / 1000
    memory_gb = deployment.memory_mb[name] / 1024
    factor = ASSUMED["debug_log_factor"] if deployment.log_level == "DEBUG" else 1.0
    plan.log_bytes += invocations * ASSUMED["log_bytes_per_invocation"] * factor
    return FunctionUsage(invocations, seconds * memory_gb, peak, seconds / plan.seconds)


def _partials_per_device_minute(workload: Workload, window_s: int) -> float:
    event_per_window = window_s * workload.speed
    aligned = workload.speed == 1 and (60 % window_s == 0 or window_s % 60 == 0)
    per_minute = max(1.0, 60 / event_per_window) if aligned else 1 + 60 / event_per_window
    return max(1.0, min(per_minute, 60 * workload.hz))


def _aggregator(plan: Plan, deployment: Deployment) -> float:
    """Aggregator invocations and the partial items it writes (returned)."""
    workload, stream = plan.workload, plan.stream
    shards, window = stream.shards, deployment.tumbling_window_s
    per_shard = stream.kinesis_records_per_s * plan.seconds / shards
    windows = max(1.0, plan.seconds / window)
    busy = plan.busy_s("aggregator", deployment.aggregator, per_shard / plan.seconds)
    if per_shard / plan.seconds * busy > deployment.aggregator.batch_size:
        plan.notes.append("the aggregator cannot keep up: a shard receives more records "
                          "while one batch runs than a batch takes (raise BatchSize)")
    invocations = shards * (batches(per_shard, plan.seconds, deployment.aggregator,
                                    KINESIS_POLL_S, stream.kinesis_record_bytes, busy) + windows)
    reading = (ASSUMED["reading_bytes_base"]
               + ASSUMED["reading_bytes_per_metric"] * workload.metrics)
    per_window = workload.user_records / (windows * shards) * reading
    readings_per_device_window = workload.hz * workload.speed * window
    pieces = max(1, min(math.ceil(per_window / DEFAULT_SEAL_BYTES),
                        math.ceil(readings_per_device_window)))
    if pieces > 1:
        plan.notes.append(f"a shard's window holds ~{per_window / 1e6:.1f} MB of readings: "
                          f"flushed in {pieces} pieces, each with its own partials")
    # A run shorter than a window still fills one window per device (or one minute).
    shortest = min(window * workload.speed, 60) / workload.event_seconds
    device_minutes = workload.device_minutes * max(1.0, shortest)
    partials = device_minutes * _partials_per_device_minute(workload, window) * pieces
    plan.functions["aggregator"] = _usage("aggregator", plan, deployment, invocations,
                                          workload.user_records, shards)
    table = plan.tables.setdefault("aggregates", TableUsage())
    size = ASSUMED["partial_base_bytes"] + reading * workload.user_records / partials
    table.items_written += partials
    plan.items_by_writer["aggregator"] = partials
    plan.units_by_writer["aggregator"] = partials * math.ceil(size / KB)
    table.write_units += plan.units_by_writer["aggregator"]
    retention_s = deployment.minute_retention_days * 86_400
    retained_partials = partials / workload.event_seconds * retention_s
    table.storage_bytes += retained_partials * (size + DDB_ITEM_OVERHEAD)
    return partials


def _rollup(plan: Plan, deployment: Deployment, partials: float) -> None:
    workload = plan.workload
    table = plan.tables["aggregates"]
    expected_units = table.write_units + partials * workload.metrics * 2
    stream_shards = max(1, math.ceil(expected_units / plan.seconds / DDB_PARTITION_WRITE_UNITS))
    windows = max(1.0, plan.seconds / deployment.tumbling_window_s)
    # Each Kinesis shard flushes a window's partials at once when the window closes (the
    # shards close theirs apart): one batch per BatchSize of each flush, on each stream shard.
    flushes = windows * plan.stream.shards * stream_shards
    invocations = flushes * max(1.0, partials / flushes / deployment.rollup.batch_size)
    totals = partials * workload.metrics
    markers = invocations * min(PENDING_SHARDS, workload.devices)
    plan.functions["rollup"] = usage = _usage("rollup", plan, deployment, invocations, partials,
                                              stream_shards)
    usage.peak_concurrency = max(usage.peak_concurrency, math.ceil(usage.mean_concurrency))
    table.items_written += totals + markers
    plan.items_by_writer["rollup"] = totals + markers
    plan.units_by_writer["rollup"] = totals * 2 + markers  # totals go to the by_hour index too
    table.write_units += plan.units_by_writer["rollup"]
    partial_reads = partials * _partials_per_device_minute(workload, deployment.tumbling_window_s)
    table.read_units += partial_reads  # consistent Query of the minute's partials: >= 1 unit
    retained_minutes = workload.devices * deployment.minute_retention_days * 1440 * min(
        1.0, 60 * workload.hz)
    table.storage_bytes += retained_minutes * workload.metrics * (
        ASSUMED["total_bytes"] + ASSUMED["index_bytes"] + 2 * DDB_ITEM_OVERHEAD)


def _scheduled_rollup(plan: Plan, deployment: Deployment) -> None:
    workload, interval = plan.workload, deployment.schedule_interval_s
    runs = plan.seconds / interval
    series = (workload.devices + min(workload.sites, workload.devices) + 1) * workload.metrics
    runs_per_hour = max(1, round(3600 / interval))
    per_series_hour = sum(min(12, math.ceil(run * interval / 300)) + 1
                          for run in range(1, runs_per_hour + 1)) + ROLLUPS_PER_HOUR
    event_hours = workload.event_seconds / 3600
    rollups = series * per_series_hour * event_hours
    markers = min(PENDING_SHARDS, workload.devices) * runs
    totals_read = workload.device_minutes * workload.metrics * per_series_hour / ROLLUPS_PER_HOUR
    plan.functions["scheduled_rollup"] = _usage("scheduled_rollup", plan, deployment, runs,
                                                totals_read, 1)
    table = plan.tables["aggregates"]
    table.items_written += rollups + markers + 2 * runs  # roll-ups, marker deletes, lease
    plan.items_by_writer["scheduled_rollup"] = rollups + markers + 2 * runs
    plan.units_by_writer["scheduled_rollup"] = rollups + markers + 2 * runs
    table.write_units += rollups + markers + 2 * runs
    table.read_units += totals_read * ASSUMED["index_bytes"] / (4 * KB) / 2 + markers
    table.storage_bytes += series * ROLLUPS_PER_HOUR * deployment.rollup_retention_days * 24 * (
        ASSUMED["rollup_bytes"] + DDB_ITEM_OVERHEAD)


def _fanout(plan: Plan, deployment: Deployment) -> None:
    workload, stream = plan.workload, plan.stream
    shards = stream.shards
    per_shard = stream.kinesis_records_per_s * plan.seconds / shards
    busy = plan.busy_s("dispatcher", deployment.dispatcher, per_shard / plan.seconds)
    invocations = shards * batches(per_shard, plan.seconds, deployment.dispatcher,
                                   KINESIS_POLL_S, stream.kinesis_record_bytes, busy)
    plan.functions["dispatcher"] = _usage("dispatcher", plan, deployment, invocations,
                                          workload.user_records,
                                          shards * deployment.dispatcher.parallelization)
    per_batch_bytes = workload.user_records * workload.record_bytes * 4 / 3 / max(1, invocations)
    chunks = max(1, math.ceil(per_batch_bytes / deployment.dispatcher_max_payload_bytes))
    devices_per_payload = min(workload.devices / shards,
                              workload.user_records / max(1, invocations * chunks))
    for worker in deployment.routes:
        calls = invocations * chunks
        plan.functions[worker] = _usage(worker, plan, deployment, calls, workload.user_records, 0)
        plan.functions[worker].peak_concurrency = plan.functions[worker].mean_concurrency
        if worker in ("device_state", "alerts"):
            # per device: its state item and one per metric (device_state/state.py), or
            # the item of each rule
            items = 1 + workload.metrics if worker == "device_state" else ALERT_RULES
            table = plan.tables.setdefault(worker.replace("_", "-"), TableUsage())
            table.items_written += calls * devices_per_payload * items
            table.write_units += calls * devices_per_payload * items * (
                1 if worker == "device_state" else 2)
            table.read_units += calls * devices_per_payload * items * (
                0 if worker == "device_state" else 1)
            table.storage_bytes = workload.devices * items * (1 * KB + DDB_ITEM_OVERHEAD)
        if worker == "archive":
            plan.archive_objects += calls
            plan.archive_list_requests += calls
            daily = workload.devices * workload.hz * 86_400 * workload.record_bytes
            plan.archive_bytes = daily * ASSUMED["archive_gzip_ratio"] * (
                deployment.archive_retention_days)


def plan(workload: Workload, deployment: Deployment,
         durations: Mapping[str, tuple[float, float]] | None = None) -> Plan:
    """What ``workload`` costs the platform deployed with ``deployment`` over its period;
    ``durations`` (fixed ms, ms per item) replace ``DURATION_MS``'s estimates by name."""
    user_per_s = workload.devices * workload.hz * workload.speed
    stream = stream_load(user_per_s, workload.record_bytes, aggregate=workload.aggregate,
                         shards=workload.shards)
    result = Plan(workload, stream, durations={**DURATION_MS, **(durations or {})})
    partials = _aggregator(result, deployment)
    _rollup(result, deployment, partials)
    _scheduled_rollup(result, deployment)
    if workload.fanout:
        _fanout(result, deployment)
    return result


def naive_writes(workload: Workload) -> float:
    """DynamoDB writes of the design the partials replace: one ``UpdateItem ... ADD`` per
    reading and metric (``bench/bench_write_amplification.py``'s baseline)."""
    return workload.user_records * workload.metrics


__all__ = ["ASSUMED", "DURATION_MS", "MONTH_S", "FunctionUsage", "Plan", "TableUsage",
           "Workload", "batches", "naive_writes", "plan"]
