"""Fanout vs a direct consumer: one shard at its write limit (1,000 records/s), 20 ms of
work per record (a call to another system), consumed two ways at the same time, from the
same stream, in one run:

* ``direct``: a shared-throughput mapping whose handler does the work inline, record
  after record (ParallelizationFactor 1: at most 1 / 20 ms = 50 records/s; even the
  largest factor, 10, would stay under the write limit);
* ``fanout``: an EFO mapping on the real dispatcher (``lambdas.dispatcher.handler``,
  Terraform's defaults: BatchSize 500, 1 s batching window, 192 KiB payloads, 8 Invokes
  in flight), which hands the records to a worker function by async Invoke; the worker
  (reserved concurrency ``--workers``) does the same 20 ms per record.

Both mappings use BatchSize 500 and a 1 s batching window, so the fanout is the only
difference. With those defaults a batch of 500 plain records fits one 192 KiB payload, so
one worker invocation does 10 s of work and the fanout's iterator age has a floor of
about that; smaller payloads (``MAX_PAYLOAD_BYTES``) or batches lower it, for more
Invokes. A record counts as processed when a handler finished its work for it (for
the fanout: the worker, not the hand-off). Every ``SAMPLE_S`` the table shows, per way:
the iterator age (age of the oldest record written and not yet processed: end to end),
records processed per second, and the engine's own iterator age of the mapping (oldest
record it read and has not finished, as ``shardline local status`` shows it; for the
fanout that is the dispatcher's, which only hands off).

Why real time and not the virtual clock: the engine measures a handler's duration on the
wall clock and never charges it to the virtual clock. On the deterministic driver every
component runs on one thread and asynchronous events are invoked one at a time, so
charging 20 ms per record by moving the one clock (as bench_poison.py does for single
invocations) would run the N workers one after another: it cannot represent concurrency,
which is what the fanout is for. So this runs the real-time engine (a thread per shard,
asynchronous events attempted side by side up to the function's concurrency) against the
embedded AWS, with handlers on threads of this process (the conformance harness's
``thread`` isolation; the work is a sleep, as a call to another system is a wait). The
local runtime runs at most ``max_concurrency`` (10) environments per function and
``ASYNC_WORKERS`` (32) asynchronous attempts at once; the bench raises the first to
``--workers``, so ``--workers`` is at most the second.

The dispatcher's own throughput is measured apart, in this process: the real handler over
realistic batches (500 plain records; 100 KPL aggregates of 50 user records), its async
Invokes going to the embedded AWS on a virtual clock (queued, never run). Figures are user
records per CPU second of the whole process (``time.process_time``), so the embedded AWS's
side of each Invoke is counted against the dispatcher (an upper bound on its cost), and
the routing + packing alone (no Powertools, no I/O) for comparison.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The conformance harness and the event factories live in tests/, not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lambdas.shared.kpl import split_user_records
from lambdas.shared.telemetry import encode, new_v1
from shardline.local.async_invoke import ASYNC_WORKERS
from shardline.local.embedded import EmbeddedAws, reset_backends
from shardline.local.engine import Engine
from shardline.local.environ import function_environment
from shardline.local.logs import function_output
from shardline.local.status import consumer_status
from tests.conformance import recorder
from tests.conformance.harness import Harness
from tests.factories.fanout import kinesis_event
from tests.factories.kinesis import KinesisShard, lambda_context
from tests.factories.telemetry import fleet_records

WORK_S = 0.02  # per record: the simulated call to another system
WRITE_LIMIT = 1_000  # records/s per shard (AWS-SEMANTICS.md)
TICK_S = 0.1  # the producer puts WRITE_LIMIT * TICK_S records per tick
SAMPLE_S = 5.0
DRAIN_S = 30.0  # after producing, how long the fanout may take to finish
BATCH_SIZE, BATCHING_WINDOW_S = 500, 1  # terraform/modules/fanout's dispatcher defaults
FUNCTION_TIMEOUT_S = 60
DEVICES = 200
KEEPS_UP = 0.95  # of the write rate, processed in the second half of the run
DEFAULT_SECONDS, MIN_SECONDS, MAX_SECONDS = 60, 10, 600
DEFAULT_WORKERS = 32
DIRECT, DISPATCHER, WORKER = "bench-direct", "bench-dispatcher", "bench-worker"
CPU_REPEATS = 5

# Each handler notes every record as its work ends (a record of a batch cut short by the
# end of the run still counts), in the conformance recorder of this process.
PROCESSED = """
import time

WORK_S = float(os.environ["WORK_S"])

def processed(sequence_number):
    recorder.record(os.environ["AWS_LAMBDA_FUNCTION_NAME"],
                    {"sequenceNumber": sequence_number, "at": time.time()})
"""

DIRECT_HANDLER = PROCESSED + """
def lambda_handler(event, context):
    for record in event["Records"]:
        time.sleep(WORK_S)  # the call to another system, inline
        processed(record["kinesis"]["sequenceNumber"])
    return {"batchItemFailures": []}
"""

WORKER_HANDLER = PROCESSED + """
from lambdas.shared.worker_payload import WorkerPayload

def lambda_handler(event, context):
    records = WorkerPayload.from_event(event).records
    for record in records:
        time.sleep(WORK_S)  # the same call, on one of the workers
        processed(record.sequence_number)
    return {"records": len(records)}
"""

# The product's handler, unchanged (importable: handlers run in this interpreter).
DISPATCHER_HANDLER = """
from lambdas.dispatcher.handler import lambda_handler
"""


# -- what was processed when (pure) -------------------------------------------------------
@dataclass
class Ledger:
    """When each record was written and when a handler first finished its work for it."""

    written: list[tuple[str, float]] = field(default_factory=list)  # stream order
    done: dict[str, float] = field(default_factory=dict)

    def finished(self, completions: Iterable[tuple[str, float]]) -> None:
        """Note completions; a record processed twice (at-least-once) counts the first."""
        for key, at in completions:
            if key not in self.done or at < self.done[key]:
                self.done[key] = at

    def _pending_at(self, at: float) -> Iterable[float]:
        """Write times of the records written by ``at`` and not processed by then."""
        for key, written_at in self.written:
            if written_at > at:
                return
            finished = self.done.get(key)
            if finished is None or finished > at:
                yield written_at

    def age_at(self, at: float) -> float:
        """Iterator age at ``at``: how old the oldest unprocessed record is (0: none)."""
        oldest = next(iter(self._pending_at(at)), None)
        return 0.0 if oldest is None else at - oldest

    def behind_at(self, at: float) -> int:
        return sum(1 for _ in self._pending_at(at))

    def processed_between(self, start: float, end: float) -> int:
        """Records whose work first finished in (start, end]."""
        return sum(1 for at in self.done.values() if start < at <= end)

    def complete(self) -> bool:
        return all(key in self.done for key, _ in self.written)


@dataclass
class Sample:
    at: float
    engine_ages: dict[str, float]  # function name -> the engine's iterator age


# -- the side-by-side run ----------------------------------------------------------------
class RealTimeHarness(Harness):
    """The conformance harness with the engine on the real-time driver (a thread per
    shard, asynchronous events side by side, the wall clock), as ``local up`` runs it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._unstamp()  # records keep moto's real arrival times
        self.engine = Engine(self.client, self.runtime)
        self.invoker = self.engine.async_invoker
        self.schedules = self.engine.schedules


def dispatcher_environment() -> dict[str, str]:
    """The dispatcher's variables as terraform/modules/fanout sets them, one worker."""
    return {"WORKERS": json.dumps({"bench": WORKER}),
            "ROUTES": json.dumps([{"worker": "bench"}]),
            "POWERTOOLS_SERVICE_NAME": "dispatcher", "POWERTOOLS_METRICS_NAMESPACE": "bench",
            "POWERTOOLS_TRACE_DISABLED": "true", "LOG_LEVEL": "WARNING"}


def create(harness: Harness, workers: int) -> str:
    """The stream, both consumers and the worker; returns the stream's ARN."""
    stream = harness.stream("bench-telemetry")
    work = {"WORK_S": str(WORK_S)}
    mapping = {"BatchSize": BATCH_SIZE, "MaximumBatchingWindowInSeconds": BATCHING_WINDOW_S}
    harness.function(DIRECT, DIRECT_HANDLER, timeout=FUNCTION_TIMEOUT_S, environment=work)
    harness.map(stream, DIRECT, **mapping)
    harness.function(WORKER, WORKER_HANDLER, timeout=FUNCTION_TIMEOUT_S, environment=work)
    harness.client("lambda").put_function_concurrency(
        FunctionName=WORKER, ReservedConcurrentExecutions=workers)
    harness.function(DISPATCHER, DISPATCHER_HANDLER, timeout=FUNCTION_TIMEOUT_S,
                     environment=dispatcher_environment())
    consumer = harness.stream_consumer(stream, "fanout")
    harness.map(consumer, DISPATCHER, BisectBatchOnFunctionError=True,
                FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=5,
                **mapping)
    return stream


def telemetry_entries(first: int, count: int) -> list[dict[str, Any]]:
    """``count`` valid readings of a fleet, numbered from ``first``, as PutRecords entries."""
    now_ms = int(time.time() * 1000)
    entries = []
    for number in range(first, first + count):
        device = f"dev-{number % DEVICES:05d}"
        reading = new_v1(device, "plant-a", now_ms, number // DEVICES,
                         {"temperature_c": 21.4, "humidity_pct": 40.2, "battery_v": 3.71})
        entries.append({"Data": encode(reading), "PartitionKey": device})
    return entries


def engine_ages(harness: Harness) -> dict[str, float]:
    now = time.time()
    return {status["function"]: status["iterator_age_s"]
            for status in (consumer_status(c, now) for c in harness.engine.consumers())}


def produce(harness: Harness, stream: str, seconds: int, ledger: Ledger,
            sample: Callable[[], None]) -> None:
    """Put WRITE_LIMIT records a second, in ticks, for ``seconds``; sample on the way."""
    kinesis = harness.client("kinesis")
    per_tick = int(WRITE_LIMIT * TICK_S)
    started = time.time()
    next_sample = started + SAMPLE_S
    for tick in range(int(seconds / TICK_S)):
        time.sleep(max(0.0, started + tick * TICK_S - time.time()))
        entries = telemetry_entries(tick * per_tick, per_tick)
        written_at = time.time()
        response = kinesis.put_records(StreamARN=stream, Records=entries)
        if response["FailedRecordCount"]:
            raise SystemExit(f"PutRecords failed {response['FailedRecordCount']} records")
        ledger.written += [(r["SequenceNumber"], written_at) for r in response["Records"]]
        if time.time() >= next_sample:
            sample()
            next_sample += SAMPLE_S


def collect(function: str, ledger: Ledger) -> None:
    ledger.finished((note["sequenceNumber"], note["at"])
                    for note in list(recorder.calls[function]))


@dataclass
class Run:
    direct: Ledger
    fanout: Ledger
    samples: list[Sample]
    started: float
    produced_until: float
    drained_at: float | None  # when the fanout had processed every record
    invocations: list[Any]  # the engine's invocation log

    def outcomes(self) -> dict[str, Counter[str]]:
        """Invocations per function and outcome (ok, partial, error, throttled)."""
        counts: dict[str, Counter[str]] = {}
        for entry in self.invocations:
            counts.setdefault(entry.function.rsplit(":", 1)[-1], Counter())[entry.outcome] += 1
        return counts

    def problems(self) -> list[str]:
        """Function errors: the bench's handlers and the dispatcher should have none."""
        return [f"{function}: {count} invocations failed"
                for function, outcome in self.outcomes().items()
                if (count := outcome["error"])]

    def worker_busy_s(self) -> float:
        return sum(entry.duration_ms for entry in self.invocations
                   if entry.function.endswith(f":{WORKER}")) / 1000


def run_side_by_side(aws: EmbeddedAws, work_dir: Path, seconds: int, workers: int) -> Run:
    reset_backends()
    harness = RealTimeHarness(aws, work_dir / "side-by-side")
    harness.runtime.max_concurrency = workers  # the local cap on environments per function
    direct, fanout, samples = Ledger(), Ledger(), []
    fanout.written = direct.written  # one stream: the same records

    def sample() -> None:
        samples.append(Sample(time.time(), engine_ages(harness)))

    try:
        stream = create(harness, workers)
        harness.start()
        started = time.time()
        produce(harness, stream, seconds, direct, sample)
        produced_until, drained_at = time.time(), None
        while time.time() < produced_until + DRAIN_S:
            time.sleep(1.0)
            collect(WORKER, fanout)
            if time.time() >= samples[-1].at + SAMPLE_S:
                sample()
            if fanout.complete():
                drained_at = max(fanout.done.values())
                break
        if time.time() > samples[-1].at + 1.0:
            sample()
        collect(DIRECT, direct)
        collect(WORKER, fanout)
        invocations = list(harness.engine.invocation_log)
    finally:
        harness.close()
        reset_backends()
    return Run(direct, fanout, samples, started, produced_until, drained_at, invocations)


# -- the dispatcher's own throughput -----------------------------------------------------
def realistic_batches() -> dict[str, dict[str, Any]]:
    """A plain batch (500 records, one reading each) and a KPL batch (100 aggregates of 50
    readings), as the EFO mapping delivers them."""
    readings = fleet_records(devices=DEVICES, per_device=25)
    plain, kpl = KinesisShard(), KinesisShard()
    return {
        "plain": kinesis_event(plain.records(readings[:BATCH_SIZE])),
        "kpl": kinesis_event(kpl.aggregated_record(readings[i:i + 50])
                             for i in range(0, 5_000, 50)),
    }


def cpu_seconds(action: Callable[[], Any]) -> float:
    """Best of CPU_REPEATS: process CPU seconds (every thread) of one ``action()``."""
    action()  # warm: clients, pools, imports
    timings = []
    for _ in range(CPU_REPEATS):
        started = time.process_time()
        action()
        timings.append(time.process_time() - started)
    return min(timings)


def routing_and_packing(event: dict[str, Any]) -> int:
    """What the dispatcher computes per batch, without Powertools or I/O: payloads made."""
    from lambdas.dispatcher.config import get_config
    from lambdas.dispatcher.packing import envelope_bytes, pack
    from lambdas.dispatcher.plan import HandOffPlan

    config = get_config()
    first = event["Records"][0]
    shard_id, arn = first["eventID"].split(":", 1)[0], first["eventSourceARN"]
    plan = HandOffPlan(config.routes, envelope_bytes(shard_id, arn), config.max_payload_bytes)
    for record in event["Records"]:
        kinesis = record["kinesis"]
        plan.add(kinesis["sequenceNumber"], kinesis["data"], kinesis["partitionKey"],
                 kinesis["approximateArrivalTimestamp"])
    return sum(len(pack(worker, entries, shard_id=shard_id, event_source_arn=arn,
                        max_bytes=config.max_payload_bytes))
               for worker, entries in plan.entries.items())


def measure_dispatcher(aws: EmbeddedAws, work_dir: Path) -> dict[str, Any]:
    """User records per CPU second: the whole handler (its Invokes reach the embedded AWS
    on a virtual clock, where they queue and never run) and routing + packing alone."""
    reset_backends()
    harness = Harness(aws, work_dir / "dispatcher-cpu")
    figures: dict[str, Any] = {}
    try:
        harness.function(WORKER, WORKER_HANDLER, environment={"WORK_S": str(WORK_S)})
        with open(os.devnull, "w") as devnull, function_output(devnull), \
                function_environment(dispatcher_environment()):
            # Imported once the output router is in place, so the module's Logger writes
            # through it (to the null device here, to the function's log in the run).
            from lambdas.dispatcher import config, handler, repository

            config.get_config.cache_clear()
            repository.default_invoker.cache_clear()
            for name, event in realistic_batches().items():
                user_records = user_records_of(event)
                handler_cpu = cpu_seconds(
                    lambda e=event: handler.lambda_handler(e, lambda_context(DISPATCHER)))
                plan_cpu = cpu_seconds(lambda e=event: routing_and_packing(e))
                figures[name] = {"user_records": user_records,
                                 "payloads": routing_and_packing(event),
                                 "handler_per_cpu_s": round(user_records / handler_cpu),
                                 "routing_packing_per_cpu_s": round(user_records / plan_cpu)}
            config.get_config.cache_clear()
            repository.default_invoker.cache_clear()
    finally:
        harness.close()
        reset_backends()
    return figures


def user_records_of(event: dict[str, Any]) -> int:
    return sum(len(split_user_records(base64.b64decode(r["kinesis"]["data"])))
               for r in event["Records"])


# -- report ------------------------------------------------------------------------------
def print_table(run: Run) -> None:
    print("age_s: age of the oldest record written and not yet processed (end to end); "
          "rec/s: records processed per second;\nengine_age_s, dispatcher_age_s: the "
          "mapping's iterator age as the engine reports it (`shardline local status`)")
    print(f"{'t_s':>5} {'written':>8} | {'direct: age_s':>13} {'rec/s':>6} {'engine_age_s':>12} "
          f"| {'fanout: age_s':>13} {'rec/s':>6} {'dispatcher_age_s':>16}")
    previous = run.started
    for sample in run.samples:
        at, span = sample.at, max(sample.at - previous, 1e-9)
        written = sum(1 for _, written_at in run.direct.written if written_at <= at)
        print(f"{at - run.started:>5.0f} {written:>8} | "
              f"{run.direct.age_at(at):>13.1f} "
              f"{run.direct.processed_between(previous, at) / span:>6.0f} "
              f"{sample.engine_ages.get(DIRECT, 0.0):>12.1f} | "
              f"{run.fanout.age_at(at):>13.1f} "
              f"{run.fanout.processed_between(previous, at) / span:>6.0f} "
              f"{sample.engine_ages.get(DISPATCHER, 0.0):>16.1f}")
        previous = at


def figures(run: Run, seconds: int, workers: int,
            dispatcher: dict[str, Any]) -> dict[str, Any]:
    """Rates over the second half of producing (past the fanout's start-up), ages when
    the producer stopped."""
    end = run.produced_until
    half = run.started + (end - run.started) / 2
    span = end - half
    written = sum(1 for _, at in run.direct.written if half < at <= end) / span
    direct = run.direct.processed_between(half, end) / span
    fanout = run.fanout.processed_between(half, end) / span
    production = [s.at for s in run.samples if s.at <= end] + [end]
    watched = run.samples[-1].at - run.started
    return {
        "bench": "fanout",
        "seconds": seconds, "workers": workers, "work_ms_per_record": WORK_S * 1000,
        "records_written": len(run.direct.written),
        "written_per_s": round(written),
        "direct_records_per_s": round(direct),
        "fanout_records_per_s": round(fanout),
        "ratio": round(fanout / direct, 1) if direct else None,
        "baseline": "the same work inline in a direct consumer of the same shard",
        "direct_iterator_age_end_s": round(run.direct.age_at(end), 1),
        "fanout_iterator_age_end_s": round(run.fanout.age_at(end), 1),
        "fanout_iterator_age_max_s": round(max(run.fanout.age_at(at) for at in production), 1),
        "direct_records_behind_end": run.direct.behind_at(end),
        "fanout_records_behind_end": run.fanout.behind_at(end),
        "fanout_drained_s_after_producing": (None if run.drained_at is None
                                             else round(max(run.drained_at - end, 0.0), 1)),
        "direct_keeps_up": direct >= KEEPS_UP * written,
        "fanout_keeps_up": fanout >= KEEPS_UP * written,
        "dispatcher_records_per_core_s_plain": dispatcher["plain"]["handler_per_cpu_s"],
        "dispatcher_records_per_core_s_kpl": dispatcher["kpl"]["handler_per_cpu_s"],
        # Little's law: 1,000 records/s x 20 ms keep 20 workers busy
        "worker_concurrency_mean": round(run.worker_busy_s() / watched, 1),
        "invocations": {name: dict(counts) for name, counts in sorted(run.outcomes().items())},
        "dispatcher": dispatcher,
        "problems": run.problems(),
    }


# -- command line ------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def whole_number(low: int, high: int, why: str = "") -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not from {low} to {high}{why}")
        return value
    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=whole_number(MIN_SECONDS, MAX_SECONDS),
                        default=DEFAULT_SECONDS, help="how long to write at the limit")
    parser.add_argument("--workers", default=DEFAULT_WORKERS, help=(
        "the worker's reserved concurrency (at 20 ms a record, 20 keep up with 1,000/s)"),
        type=whole_number(1, ASYNC_WORKERS, f" (the local runtime attempts at most "
                                            f"{ASYNC_WORKERS} async events at once)"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("shardline").setLevel(logging.ERROR)
    aws = EmbeddedAws(port=0)
    aws.start()
    # The dispatcher's boto3 client reads these (also on its Invoke threads, outside the
    # runtime's per-invocation overlay); dummy credentials: never real AWS.
    os.environ.update(AWS_ENDPOINT_URL=aws.endpoint_url, AWS_ACCESS_KEY_ID="test",
                      AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fanout-") as work:
            dispatcher = measure_dispatcher(aws, Path(work))
            run = run_side_by_side(aws, Path(work), args.seconds, args.workers)
    finally:
        aws.stop()
    print_table(run)
    for problem in run.problems():
        print(f"FAILED: {problem}", file=sys.stderr)
    print(json.dumps(figures(run, args.seconds, args.workers, dispatcher)))
    return 1 if run.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
