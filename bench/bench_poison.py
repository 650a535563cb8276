"""What one poison record costs its shard: a clean run vs the same run with one record the
handler cannot process, side by side, for two ways of failing it.

* ``bisect``: the handler raises on the poison record; BisectBatchOnFunctionError halves
  the failing batch until the record is alone, which is then retried MaximumRetryAttempts
  times and sent to the on-failure destination.
* ``partial``: the handler reports the poison record in ``batchItemFailures``
  (ReportBatchItemFailures, bisect on too); Lambda checkpoints before it and retries the
  rest of the batch from it, with a fresh retry count (that response made progress). That
  is no function error, so nothing is halved: when the retries run out, the poison record
  *and every record after it in its batch* go to the destination (AWS-SEMANTICS.md;
  replayable with ``shardline dlq replay``). The bench counts those records
  (``records_skipped_with_poison``) and expects exactly them.
* ``head``: what the aggregator does (lambdas/aggregator/handler.py): report the poison
  record while records before it can be checkpointed, and raise once it heads the batch,
  so the retried rest of the batch is bisected down to it. Only the poison record goes to
  the destination.

DESIGN.md: "A poison record costs at most the retry budget of its batch (bisect isolates
it); it never stops the shard for longer." Figures, per mode:

* invocations, clean vs poisoned, and the extra ones against the bound the engine's
  rules imply (derived below; the run fails if the measured count is above it);
* how long the shard is held up: on the virtual clock (deterministic driver) with a
  simulated handler duration, checked against its bound too, and on the wall clock
  (real-time driver, clean and poisoned streams consumed at the same time in one engine);
* where every record ended: the poison record in the on-failure destination (with the
  partial-batch response, the rest of its batch beside it), every other record delivered
  once to an invocation that succeeded for it (the run fails otherwise).

The poison record sits in the middle batch, at an offset bisect needs the most splits
(ceil(log2 BatchSize)) to isolate, so the bisect figures are the worst case.

Everything runs against one embedded AWS with the conformance harness (functions from
real zips, ``tests/conformance/harness.py``). Last line: one JSON object.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The conformance harness lives in tests/, which is not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shardline.local.embedded import EmbeddedAws, reset_backends
from shardline.local.engine import Engine
from shardline.local.functions import InvocationResult
from shardline.local.stream_consumer import ShardConsumer
from shardline.local.stream_retries import RETRY_BACKOFF_S, backoff
from tests.conformance.harness import Harness

RECORDS, BATCH_SIZE, RETRIES = 1_000, 100, 2
MODES = ("bisect", "partial", "head")
INVOKE_S = 0.05  # what one invocation takes: slept for real, added to the virtual clock
WALL_TIMEOUT_S = 20.0
VIRTUAL_LIMIT_S = 120.0

HANDLER = """
import time

POISON = os.environ["POISON"]
MODE = os.environ["MODE"]
SLEEP_S = float(os.environ["SLEEP_S"])

def lambda_handler(event, context):
    seen(event)
    if SLEEP_S:
        time.sleep(SLEEP_S)
    records = payloads(event)
    if POISON and POISON in records:
        if MODE == "bisect" or (MODE == "head" and records.index(POISON) == 0):
            raise ValueError("poison record")
        sequence_number = sequence_numbers(event)[records.index(POISON)]
        return {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
    return {"batchItemFailures": []}
"""


# -- what the engine's rules imply -------------------------------------------------------
def bisect_depth(size: int, offset: int) -> int:
    """Splits until the record at ``offset`` of a failing batch of ``size`` is alone. The
    engine splits at ``size // 2`` (left half first), so the deepest path takes
    ceil(log2(size)) splits."""
    depth, start = 0, 0
    while size > 1:
        half = size // 2
        if offset - start >= half:
            start += half
            size -= half
        else:
            size = half
        depth += 1
    return depth


def extra_invocations(mode: str, offset: int) -> int:
    """Invocations the poison record adds to its batch's one clean invocation.

    bisect: each split costs the failing batch's invocation (splitting uses no retry)
    plus one for the half without the poison record, which succeeds at once; alone, the
    record is invoked 1 + MaximumRetryAttempts times. The batch's own first invocation
    is the clean one, so the extra is 2·depth + R (worst case 2·ceil(log2 B) + R).
    partial: no split (not a function error); the partial response checkpointed the
    records before the poison record, which starts the rest's retry count afresh (as
    recorded on AWS): the rest from the poison record is invoked 1 + R more times, then
    skipped: exactly R + 1 extra.
    """
    if mode == "bisect":
        return 2 * bisect_depth(BATCH_SIZE, offset) + RETRIES
    if mode == "head":
        # after the partial response's progress the rest of the batch (poison first)
        # starts afresh; it raises, so it is bisected down to the poison record, which
        # is then invoked 1 + R times
        return 2 * bisect_depth(BATCH_SIZE - offset, 0) + RETRIES + 1
    return RETRIES + 1


def retry_waits_s(mode: str) -> float:
    """Backoff before each of the R retries (the engine's RETRY_BACKOFF_S schedule), and
    with a partial response the first delay before the invocation after its progress."""
    waits = sum(backoff(a) for a in range(1, RETRIES + 1))
    return waits + (RETRY_BACKOFF_S[0] if mode in ("partial", "head") else 0.0)


def worst_offset() -> int:
    """Of the offsets in a batch that bisect takes the most splits to isolate, the one
    nearest the middle: the worst case for bisect, and a typical one for a partial-batch
    response (which skips the rest of the batch after the poison record, B - offset - 1
    records, half a batch on average)."""
    deepest = max(bisect_depth(BATCH_SIZE, offset) for offset in range(BATCH_SIZE))
    return min((offset for offset in range(BATCH_SIZE)
                if bisect_depth(BATCH_SIZE, offset) == deepest),
               key=lambda offset: abs(offset - BATCH_SIZE // 2))


# -- running a scenario ------------------------------------------------------------------
@dataclass
class Call:
    function: str
    sequence_numbers: list[str]
    result: InvocationResult
    started: float
    ended: float

    def delivered(self) -> list[str]:
        """Records this invocation succeeded for: all of them, the ones before the
        lowest reported failure, or none on a function error."""
        if not self.result.ok:
            return []
        failures = (self.result.payload or {}).get("batchItemFailures") or []
        failed = {f["itemIdentifier"] for f in failures}
        if not failed:
            return self.sequence_numbers
        first = min(self.sequence_numbers.index(s) for s in failed)
        return self.sequence_numbers[:first]


@dataclass
class Scenario:
    name: str  # also the stream's and the function's
    mode: str  # bisect | partial | head
    poison_index: int | None
    sequence_numbers: list[str] = field(default_factory=list)
    queue_url: str = ""

    @property
    def poison_sequence(self) -> str | None:
        return None if self.poison_index is None else self.sequence_numbers[self.poison_index]


class CallLog:
    """Wraps the runtime's invoke: records every invocation with its start and end; in
    virtual time, moves the clock on by INVOKE_S per invocation (the harness models no
    handler duration, so the bench does)."""

    def __init__(self, harness: Harness, *, virtual: bool) -> None:
        self.calls: list[Call] = []
        invoke = harness.runtime.invoke
        clock = harness.clock if virtual else None

        def timed_invoke(function: str, event: Any, **kwargs: Any) -> InvocationResult:
            started = clock.now() if clock else time.monotonic()
            result = invoke(function, event, **kwargs)
            if clock:
                clock.advance_to(started + INVOKE_S)
            ended = clock.now() if clock else time.monotonic()
            self.calls.append(Call(function.rsplit(":", 1)[-1],
                                   [r["kinesis"]["sequenceNumber"] for r in event["Records"]],
                                   result, started, ended))
            return result

        harness.runtime.invoke = timed_invoke  # type: ignore[method-assign]

    def of(self, scenario: Scenario) -> list[Call]:
        return [c for c in self.calls if c.function == scenario.name]


class RealTimeHarness(Harness):
    """The conformance harness with the engine on the real-time driver (a thread per
    shard, the wall clock) — what ``shardline local up`` runs. The harness only builds
    the deterministic engine, so this swaps it before anything starts."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._unstamp()  # records keep moto's real arrival times
        self.engine = Engine(self.client, self.runtime)
        self.invoker = self.engine.async_invoker
        self.schedules = self.engine.schedules


def create(harness: Harness, scenario: Scenario, *, sleep_s: float) -> None:
    stream = harness.stream(scenario.name)
    scenario.queue_url, queue_arn = harness.queue(f"{scenario.name}-failures")
    poison = "" if scenario.poison_index is None else payload(scenario.poison_index)
    harness.function(scenario.name, HANDLER, timeout=10, environment={
        "POISON": poison, "MODE": scenario.mode, "SLEEP_S": str(sleep_s)})
    settings: dict[str, Any] = {}
    if scenario.mode in ("partial", "head"):
        settings["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    harness.map(stream, scenario.name, BatchSize=BATCH_SIZE, BisectBatchOnFunctionError=True,
                MaximumRetryAttempts=RETRIES,
                DestinationConfig={"OnFailure": {"Destination": queue_arn}}, **settings)
    kinesis = harness.client("kinesis")
    for first in range(0, RECORDS, 500):  # one partition key: one shard, in order
        response = kinesis.put_records(StreamARN=stream, Records=[
            {"Data": payload(i).encode(), "PartitionKey": "device-1"}
            for i in range(first, min(first + 500, RECORDS))])
        assert response["FailedRecordCount"] == 0, response
        scenario.sequence_numbers += [r["SequenceNumber"] for r in response["Records"]]


def payload(index: int) -> str:
    return f"record-{index:05d}"


def drained(harness: Harness, scenario: Scenario) -> bool:
    consumers = [c for c in harness.engine.consumers() if isinstance(c, ShardConsumer)
                 and c.mapping.function_arn.endswith(f":{scenario.name}")]
    return bool(consumers) and consumers[0].checkpoint == scenario.sequence_numbers[-1]


@dataclass
class Outcome:
    invocations: int
    failing_invocations: int
    drain_s: float  # from the engine's start to the end of the last invocation
    delivered: Counter[str]
    destination: list[dict[str, Any]]


def outcome(harness: Harness, log: CallLog, scenario: Scenario, started: float) -> Outcome:
    calls = log.of(scenario)
    delivered: Counter[str] = Counter()
    for call in calls:
        delivered.update(call.delivered())
    return Outcome(
        invocations=len(calls),
        failing_invocations=sum(1 for c in calls if len(c.delivered()) < len(c.sequence_numbers)),
        drain_s=max(c.ended for c in calls) - started,
        delivered=delivered,
        destination=harness.messages(scenario.queue_url),
    )


def run_virtual(aws: EmbeddedAws, work_dir: Path, scenario: Scenario) -> Outcome:
    """One scenario alone on the deterministic driver (alone, because the simulated
    duration moves the one clock every consumer shares)."""
    reset_backends()
    harness = Harness(aws, work_dir / scenario.name)
    try:
        log = CallLog(harness, virtual=True)
        create(harness, scenario, sleep_s=0.0)
        started = harness.clock.now()
        harness.start()
        while not drained(harness, scenario):
            if harness.clock.now() - started > VIRTUAL_LIMIT_S:
                raise SystemExit(f"{scenario.name}: shard not drained after "
                                 f"{VIRTUAL_LIMIT_S:.0f} virtual seconds")
            harness.advance(0.25)
        return outcome(harness, log, scenario, started)
    finally:
        harness.close()
        reset_backends()


def run_wall(aws: EmbeddedAws, work_dir: Path, scenarios: list[Scenario]) -> list[Outcome]:
    """Scenarios consumed at the same time by one real-time engine (a thread per shard),
    so they share the machine's noise."""
    reset_backends()
    harness = RealTimeHarness(aws, work_dir / "-".join(s.name for s in scenarios))
    try:
        log = CallLog(harness, virtual=False)
        for scenario in scenarios:
            create(harness, scenario, sleep_s=INVOKE_S)
        started = time.monotonic()
        harness.start()
        deadline = started + WALL_TIMEOUT_S
        while not all(drained(harness, s) for s in scenarios):
            if time.monotonic() > deadline:
                raise SystemExit(f"shards not drained after {WALL_TIMEOUT_S:.0f} s")
            time.sleep(0.01)
        return [outcome(harness, log, s, started) for s in scenarios]
    finally:
        harness.close()
        reset_backends()


# -- checks ------------------------------------------------------------------------------
def check_accounting(scenario: Scenario, result: Outcome, problems: list[str]) -> int:
    """The poison record (and, with a partial-batch response, the rest of its batch
    after it) in the destination once; every other record delivered exactly once.
    Returns how many records besides the poison record went to the destination."""
    expected_skipped: list[str] = []
    if scenario.poison_index is not None:
        end = scenario.poison_index + 1
        if scenario.mode == "partial":  # the retry is the rest of the batch: all skipped
            end = (scenario.poison_index // BATCH_SIZE + 1) * BATCH_SIZE
        expected_skipped = scenario.sequence_numbers[scenario.poison_index:end]
    skipped: list[str] = []
    for document in result.destination:
        info = document["KinesisBatchInfo"]
        first = scenario.sequence_numbers.index(info["startSequenceNumber"])
        last = scenario.sequence_numbers.index(info["endSequenceNumber"])
        skipped += scenario.sequence_numbers[first:last + 1]
        # the poison record's batch after the last progress or split: 1 + R invocations
        if document["requestContext"]["approximateInvokeCount"] != RETRIES + 1:
            problems.append(f"{scenario.name}: approximateInvokeCount "
                            f"{document['requestContext']['approximateInvokeCount']}")
    if skipped != expected_skipped:
        problems.append(f"{scenario.name}: destination holds {len(skipped)} records, "
                        f"expected {len(expected_skipped)} from the poison record on")
    skipped_set = set(skipped)
    for sequence_number in scenario.sequence_numbers:
        times = result.delivered[sequence_number]
        if times != (0 if sequence_number in skipped_set else 1):
            problems.append(f"{scenario.name}: record {sequence_number} delivered {times} times")
            break
    return len(skipped) - 1 if skipped else 0


def main() -> None:
    logging.getLogger("shardline").setLevel(logging.ERROR)  # skipped-record warnings
    offset = worst_offset()
    poison_index = (RECORDS // BATCH_SIZE // 2) * BATCH_SIZE + offset
    problems: list[str] = []
    report: dict[str, Any] = {
        "bench": "poison", "records": RECORDS, "batch_size": BATCH_SIZE,
        "max_retry_attempts": RETRIES, "poison_index": poison_index,
        "poison_offset_in_batch": offset, "invoke_s": INVOKE_S,
        "baseline": "the same shard without the poison record",
    }
    aws = EmbeddedAws(port=0)
    aws.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-poison-") as work:
            for mode in MODES:
                clean = Scenario(f"{mode}-clean", mode, None)
                poisoned = Scenario(f"{mode}-poisoned", mode, poison_index)
                virtual_clean = run_virtual(aws, Path(work), clean)
                virtual_poisoned = run_virtual(aws, Path(work), poisoned)
                wall_clean, wall_poisoned = run_wall(
                    aws, Path(work), [Scenario(f"{mode}-clean", mode, None),
                                      Scenario(f"{mode}-poisoned", mode, poison_index)])
                report[mode] = figures(mode, offset, clean, poisoned, virtual_clean,
                                       virtual_poisoned, wall_clean, wall_poisoned, problems)
    finally:
        aws.stop()
    for mode in MODES:
        print(f"{mode}: " + ", ".join(f"{k}={v}" for k, v in report[mode].items()))
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    report["ok"] = not problems
    print(json.dumps(report))
    if problems:
        raise SystemExit(1)


def figures(mode: str, offset: int, clean: Scenario, poisoned: Scenario,
            virtual_clean: Outcome, virtual_poisoned: Outcome, wall_clean: Outcome,
            wall_poisoned: Outcome, problems: list[str]) -> dict[str, Any]:
    extra = virtual_poisoned.invocations - virtual_clean.invocations
    predicted = extra_invocations(mode, offset)
    fresh = 1 if mode in ("partial", "head") else 0  # the invocation after progress
    if mode in ("bisect", "head"):  # "head" bisects the rest of a batch: no deeper
        bound = 2 * math.ceil(math.log2(BATCH_SIZE)) + RETRIES + fresh
        failing_bound = math.ceil(math.log2(BATCH_SIZE)) + RETRIES + 1 + fresh
    else:
        bound, failing_bound = RETRIES + fresh, RETRIES + 1 + fresh
    # The shard waits for each extra invocation and for the backoff before each retry
    # (the engine counts a backoff from the start of the failed invocation, so the wait
    # it adds is the backoff less one invocation, never more than the backoff).
    time_bound = bound * INVOKE_S + retry_waits_s(mode)
    virtual_extra = virtual_poisoned.drain_s - virtual_clean.drain_s
    if extra > bound:
        problems.append(f"{mode}: {extra} extra invocations, bound {bound}")
    if virtual_poisoned.failing_invocations > failing_bound:
        problems.append(f"{mode}: {virtual_poisoned.failing_invocations} failing "
                        f"invocations, bound {failing_bound}")
    if virtual_extra > time_bound + 1e-6:
        problems.append(f"{mode}: shard held up {virtual_extra:.3f} virtual s, "
                        f"bound {time_bound:.3f}")
    wall_extra_invocations = wall_poisoned.invocations - wall_clean.invocations
    if wall_extra_invocations != extra:
        problems.append(f"{mode}: real time made {wall_extra_invocations} extra "
                        f"invocations, virtual time {extra}")
    for scenario, result in ((clean, virtual_clean), (poisoned, virtual_poisoned)):
        check_accounting(scenario, result, problems)
    collateral = check_accounting(poisoned, wall_poisoned, problems)
    check_accounting(clean, wall_clean, problems)
    delivered = sum(1 for n in virtual_poisoned.delivered.values() if n == 1)
    return {
        "invocations_clean": virtual_clean.invocations,
        "invocations_poisoned": virtual_poisoned.invocations,
        "extra_invocations": extra,
        "extra_invocations_predicted": predicted,
        "extra_invocations_bound": bound,
        "failing_invocations": virtual_poisoned.failing_invocations,
        "failing_invocations_bound": failing_bound,
        "failing_invocations_rough_bound": round((RETRIES + 1) * (1 + math.log2(BATCH_SIZE)), 1),
        "virtual_clean_s": round(virtual_clean.drain_s, 3),
        "virtual_poisoned_s": round(virtual_poisoned.drain_s, 3),
        "virtual_extra_s": round(virtual_extra, 3),
        "virtual_extra_bound_s": round(time_bound, 3),
        "virtual_ratio": round(virtual_poisoned.drain_s / virtual_clean.drain_s, 2),
        "wall_clean_s": round(wall_clean.drain_s, 3),
        "wall_poisoned_s": round(wall_poisoned.drain_s, 3),
        "wall_extra_s": round(wall_poisoned.drain_s - wall_clean.drain_s, 3),
        "wall_ratio": round(wall_poisoned.drain_s / wall_clean.drain_s, 2),
        "records_in_destination": sum(d["KinesisBatchInfo"]["batchSize"]
                                      for d in virtual_poisoned.destination),
        "records_skipped_with_poison": collateral,
        "records_delivered_once": delivered,
    }


if __name__ == "__main__":
    main()
