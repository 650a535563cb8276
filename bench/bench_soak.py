"""Soak: the local stack left up at a steady rate keeps flat memory and keeps pace.

Brings the real local stack up (moto in-process + ``terraform apply`` of
``envs/local.tfvars`` + the engine), drives a paced fleet into the telemetry stream at
``--rate`` user records per second for ``--minutes``, and every ``--sample-s`` seconds
records:

* the RSS of the whole process tree (this process and every descendant: execution
  environments run in worker processes), read from ``/proc``, and of this process alone
  (``stack``: the embedded AWS and the engine), since the tree's steps with the number
  of environments (a cold start beside a recycled one can leave one more warm);
* lag per mapping: the largest iterator age (age of the oldest record a consumer holds
  but has not finished, as ``shardline local status`` shows it) and the records behind
  (the newest record of each shard minus the mapping's checkpoint);
* asynchronous events queued or running (the fanout's workers: device state, alerts,
  archive), which keep pace when this stays small;
* Kinesis records produced and checkpointed by the aggregator's mapping;
* the data the embedded AWS holds that AWS would hold as well (Kinesis records within
  the stream's retention, DynamoDB stream records for 24 hours, table items): memory that
  grows with them is the data, not a leak.

With ``--tracemalloc`` it also prints the allocation sites that grew most between the
first sample after warm-up and the last one (tracemalloc slows the stack down; use it
to find growth, not for the figures).

Side by side in one run (the machine is shared and noisy, so absolute figures move): the
RSS growth per 10 minutes in the second half of the run against the first half. A stack
with flat memory shows the second half no steeper than the first (warm-up allocations
land early). Not part of ``make test`` or ``make bench`` defaults (an hour by default).

Records behind rely on moto numbering a Kinesis shard's records 1, 2, 3, ... and a
DynamoDB stream shard's from its starting sequence number, one apart.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

from lambdas.shared import telemetry
from producers.aggregation import AggregatingPublisher
from producers.fleet import FleetConfig, generate
from producers.publisher import KinesisPublisher, PutEntry
from shardline.local.stack import LocalStack
from shardline.local.status import consumer_status

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
DRAIN_TIMEOUT_S = 600


# -- memory of the process tree ---------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces or parentheses.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry))
    return tree


def rss_bytes(pid: int | str = "self") -> int:
    """RSS of one process (default: this one alone: the embedded AWS, the engine and the
    producer), from ``/proc/<pid>/statm``; OSError if the process has gone."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES


def tree_rss_bytes(root: int | None = None) -> tuple[int, int]:
    """RSS of ``root`` (default: this process) plus all its descendants, and their count."""
    tree = _children()
    pending, total, processes = [root or os.getpid()], 0, 0
    while pending:
        pid = pending.pop()
        try:
            total += rss_bytes(pid)
        except (OSError, IndexError, ValueError):
            continue
        processes += 1
        pending.extend(tree.get(pid, []))
    return total, processes


# -- the producer ------------------------------------------------------------------------
class SteadyProducer(threading.Thread):
    """Sends a fleet's records when they are due, batched once a second (as a gateway
    would), without keeping a manifest: nothing on the producer side grows with time."""

    def __init__(self, publisher: Any, config: FleetConfig) -> None:
        super().__init__(name="soak-producer", daemon=True)
        self.publisher = publisher
        self.config = config
        self.user_records = 0
        self.kinesis_records = 0
        self.error: BaseException | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            started = time.monotonic()
            batch: list[PutEntry] = []
            next_send = 1.0
            for offset, record in generate(self.config):
                if self._stopping.is_set():
                    break
                if offset >= next_send:
                    self._send(batch)
                    batch = []
                    wait = next_send - (time.monotonic() - started)
                    if wait > 0 and self._stopping.wait(wait):
                        break
                    next_send += 1.0
                batch.append(PutEntry(record.device_id, telemetry.encode(record), record))
            self._send(batch)
        except BaseException as exc:  # reported by the bench, never swallowed
            self.error = exc

    def _send(self, batch: list[PutEntry]) -> None:
        if batch:
            report = self.publisher.publish(batch)
            self.user_records += report.accepted
            self.kinesis_records += report.kinesis_records

    def stop(self) -> None:
        self._stopping.set()


# -- lag -----------------------------------------------------------------------------------
def shard_ranges() -> dict[tuple[str, str], tuple[int, int]]:
    """(source ARN, shard id) → (oldest, newest) sequence number held, read from moto."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends

    ranges: dict[tuple[str, str], tuple[int, int]] = {}
    for region in kinesis_backends.values():
        for backend in region.values():
            for stream in list(backend.streams.values()):
                for shard in list(stream.shards.values()):
                    records = shard.records
                    ranges[(stream.arn, shard.shard_id)] = (
                        (next(iter(records)), next(reversed(records))) if records else (1, 0))
    for region in dynamodb_backends.values():
        for backend in region.values():
            for table in list(backend.tables.values()):
                shard = table.stream_shard
                if shard is not None and table.latest_stream_label:
                    arn = f"{table.table_arn}/stream/{table.latest_stream_label}"
                    first = shard.starting_sequence_number
                    ranges[(arn, shard.id)] = (first, first + len(shard.items) - 1)
    return ranges


def data_held() -> dict[str, int]:
    """What the embedded AWS holds that AWS would hold too: Kinesis records (within
    retention), DynamoDB stream records (24 hours) and table items."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends

    held = {"kinesis_records": 0, "stream_records": 0, "table_items": 0}
    for region in kinesis_backends.values():
        for backend in region.values():
            for stream in list(backend.streams.values()):
                held["kinesis_records"] += sum(len(shard.records)
                                               for shard in list(stream.shards.values()))
    for region in dynamodb_backends.values():
        for backend in region.values():
            for table in list(backend.tables.values()):
                held["table_items"] += sum(len(p) if table.range_key_attr else 1
                                           for p in list(table.items.values()))
                if table.stream_shard is not None:
                    held["stream_records"] += (len(table.stream_shard.items) - getattr(
                        table.stream_shard, "_shardline_trimmed", 0))
    return held


def lag_by_mapping(stack: LocalStack) -> dict[str, dict[str, float]]:
    """Per mapping (function name): max iterator age, records behind, and (Kinesis, whose
    moto numbering starts at 1) records checkpointed."""
    assert stack.engine is not None
    ranges = shard_ranges()
    now = time.time()
    lag: dict[str, dict[str, float]] = {}
    for consumer in stack.engine.consumers():
        status = consumer_status(consumer, now)
        entry = lag.setdefault(status["function"], {"iterator_age_s": 0.0, "behind": 0,
                                                    "checkpointed": 0})
        entry["iterator_age_s"] = max(entry["iterator_age_s"], status["iterator_age_s"])
        key = (status["source"].split("/consumer/")[0], status["shard"])
        if key not in ranges:
            continue  # a queue
        first, newest = ranges[key]
        checkpoint = status["checkpoint"]
        done_up_to = int(checkpoint) if checkpoint is not None else first - 1
        entry["behind"] += max(0, newest - done_up_to)
        if status["source"].split(":")[2] == "kinesis":
            entry["checkpointed"] += max(0, done_up_to)
    return lag


# -- the run -------------------------------------------------------------------------------
def slope_per_10min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per 10 minutes."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return round(cov / var * 600, 2)


def half_slopes(samples: list[dict[str, Any]], half: float,
                key: str) -> tuple[float | None, float | None]:
    """The growth of ``key`` in MB per 10 minutes over the samples up to ``half`` seconds
    and over those from it."""
    return (slope_per_10min([(s["t_s"], s[key]) for s in samples if s["t_s"] <= half]),
            slope_per_10min([(s["t_s"], s[key]) for s in samples if s["t_s"] >= half]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=100.0,
                        help="user records per second (whole fleet)")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--sample-s", type=float, default=30.0)
    parser.add_argument("--warmup-s", type=float, default=60.0,
                        help="samples before this are shown but left out of the slopes")
    parser.add_argument("--kpl", action="store_true",
                        help="KPL-aggregate user records (as `shardline simulate` does); "
                             "default: one Kinesis record per user record, which stresses "
                             "the embedded AWS's per-record state")
    parser.add_argument("--drain-timeout-s", type=float, default=DRAIN_TIMEOUT_S,
                        help="how long to wait, after producing, for every mapping to drain")
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="N",
                        help="print the N allocation sites that grew most (slow)")
    args = parser.parse_args(argv)

    duration_s = args.minutes * 60
    config = FleetConfig(devices=args.devices, rate_hz=args.rate / args.devices,
                         duration_s=duration_s, seed=11)
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as state, LocalStack(port=0, dir=Path(state)) as stack:
        plain = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
        producer = SteadyProducer(AggregatingPublisher(plain) if args.kpl else plain, config)
        if args.tracemalloc:
            tracemalloc.start(1)
        baseline_snapshot = None
        started = time.monotonic()
        producer.start()
        print(f"{'t_s':>6} {'rss_mb':>8} {'stack':>6} {'procs':>5} {'produced':>9} "
              f"{'aggregated':>10} "
              f"{'behind':>7} {'age_s':>6} {'kinesis':>8} {'ddb_strm':>8} {'items':>7} "
              f"{'async':>6}  "
              "other mappings (behind/age)", flush=True)
        while True:
            deadline = started + (len(samples) + 1) * args.sample_s
            while time.monotonic() < deadline and producer.is_alive():
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            sample = _sample(stack, producer, time.monotonic() - started)
            samples.append(sample)
            _print_row(sample, stack)
            if args.tracemalloc and baseline_snapshot is None and sample["t_s"] >= args.warmup_s:
                baseline_snapshot = tracemalloc.take_snapshot()
            if not producer.is_alive():
                break
        if producer.error is not None:
            raise producer.error
        drained_at = time.monotonic()
        drained = (stack.engine is not None
                   and stack.engine.wait_until_idle(args.drain_timeout_s))
        drain_s = time.monotonic() - drained_at
        final = _sample(stack, producer, time.monotonic() - started)
        _print_row(final, stack)
        last_snapshot = tracemalloc.take_snapshot() if args.tracemalloc else None
    if baseline_snapshot is not None and last_snapshot is not None:
        tracemalloc.stop()
        _print_growth(baseline_snapshot, last_snapshot, args.tracemalloc)

    steady = [s for s in samples if s["t_s"] >= args.warmup_s] or samples
    half = steady[0]["t_s"] + (steady[-1]["t_s"] - steady[0]["t_s"]) / 2
    middle = min(steady, key=lambda sample: abs(sample["t_s"] - half))
    rss_slopes, stack_slopes = (half_slopes(steady, half, key) for key in ("rss_mb", "stack_mb"))
    aggregator = _aggregator(stack, final["lag"])
    lags = [lag for s in [*samples, final] for lag in s["lag"].values()]
    result = {
        "bench": "soak",
        "minutes": args.minutes,
        "rate_user_records_per_s": args.rate,
        "kpl": args.kpl,
        "producing_s": samples[-1]["t_s"],  # longer than --minutes: the rate was not held
        "rss_mb_start": steady[0]["rss_mb"],
        "rss_mb_end": samples[-1]["rss_mb"],
        "rss_mb_after_drain": final["rss_mb"],
        "processes_end": samples[-1]["processes"],
        "rss_growth_mb_per_10min_first_half": rss_slopes[0],
        "rss_growth_mb_per_10min_second_half": rss_slopes[1],
        # The stack's own process alone: the tree's RSS also steps with the number of
        # execution environments (each 60-100 MB; recycled after 45 minutes).
        "stack_rss_mb_start": steady[0]["stack_mb"],
        "stack_rss_mb_end": samples[-1]["stack_mb"],
        "stack_rss_growth_mb_per_10min_first_half": stack_slopes[0],
        "stack_rss_growth_mb_per_10min_second_half": stack_slopes[1],
        "max_iterator_age_s": max((lag["iterator_age_s"] for lag in lags), default=0.0),
        "max_records_behind": max((lag["behind"] for lag in lags), default=0),
        "lag_end_records": int(sum(lag["behind"] for lag in samples[-1]["lag"].values())),
        "max_async_pending": max(s["async_pending"] for s in [*samples, final]),
        "lag_after_drain_records": {name: int(lag["behind"])
                                    for name, lag in sorted(final["lag"].items())},
        "held_at_end": samples[-1]["held"],
        # What the second half added, beside the RSS it added: data or a leak?
        "rss_added_mb_second_half": round(samples[-1]["rss_mb"] - middle["rss_mb"], 1),
        "held_added_second_half": {kind: count - middle["held"][kind]
                                   for kind, count in samples[-1]["held"].items()},
        "user_records_produced": final["produced"],
        "kinesis_records_produced": final["kinesis_produced"],
        "kinesis_records_aggregated": final["lag"].get(aggregator, {}).get("checkpointed", 0),
        "drained": drained,
        "drain_s": round(drain_s, 1),
    }
    print(json.dumps(result))
    return 0 if drained else 1


def _sample(stack: LocalStack, producer: SteadyProducer, elapsed: float) -> dict[str, Any]:
    rss, processes = tree_rss_bytes()
    return {"t_s": round(elapsed, 1), "rss_mb": round(rss / 2**20, 1), "processes": processes,
            "stack_mb": round(rss_bytes() / 2**20, 1),
            "produced": producer.user_records, "kinesis_produced": producer.kinesis_records,
            "lag": lag_by_mapping(stack), "held": data_held(),
            "async_pending": stack.engine.async_invoker.pending if stack.engine else 0}


def _aggregator(stack: LocalStack, lag: dict[str, Any]) -> str:
    """The aggregator's mapping in ``lag``: by its function's name, or its alias's."""
    name = str(stack.outputs["aggregator_function_name"])
    return next((key for key in lag if key == name or key.startswith(f"{name}:")), name)


def _print_row(sample: dict[str, Any], stack: LocalStack) -> None:
    aggregator = _aggregator(stack, sample["lag"])
    main_lag = sample["lag"].get(aggregator, {})
    held = sample["held"]
    others = "  ".join(f"{name}: {int(lag['behind'])}/{lag['iterator_age_s']:.0f}s"
                       for name, lag in sorted(sample["lag"].items()) if name != aggregator)
    print(f"{sample['t_s']:>6.0f} {sample['rss_mb']:>8.1f} {sample['stack_mb']:>6.0f} "
          f"{sample['processes']:>5} "
          f"{sample['kinesis_produced']:>9} {int(main_lag.get('checkpointed', 0)):>10} "
          f"{int(main_lag.get('behind', 0)):>7} {main_lag.get('iterator_age_s', 0.0):>6.1f} "
          f"{held['kinesis_records']:>8} {held['stream_records']:>8} {held['table_items']:>7} "
          f"{sample['async_pending']:>6}  "
          f"{others}", flush=True)


def _print_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int) -> None:
    stats = after.compare_to(before, "lineno")
    print(f"-- traced Python allocations grew {sum(s.size_diff for s in stats) / 2**20:+.1f} MB "
          f"since warm-up; top {top} sites:", file=sys.stderr)
    for stat in stats[:top]:
        frame = stat.traceback[0]
        print(f"{stat.size_diff / 2**20:+8.2f} MB {stat.count_diff:+9d} blocks  "
              f"{frame.filename}:{frame.lineno}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
