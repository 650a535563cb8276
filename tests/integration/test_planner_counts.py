"""The planner's counts against a run on the embedded stack: the same fleet, the same
Terraform settings (envs/local.tfvars; the aggregator's batches set smaller for the run,
see ``batches_of``), DynamoDB writes from the embedded AWS's write meter and the
aggregator's and rollup's invocations from the engine's log, within 10 %. The fanout's
mapping is paused meanwhile (the planner plans without it): its workers' asynchronous
invocations would only make the run longer.

The fleet runs live (event time = arrival time, the planner's ``speed`` 1) for exactly one
tumbling window of each shard (10 s locally), from a window boundary, so the run holds
whole windows as the planner's steady state does. The scheduled rollup's rule is paused
meanwhile: it runs every 5 minutes of wall time, and the run is shorter than that.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from lambdas.shared import telemetry
from producers.fleet import FleetConfig, generate
from producers.publisher import KinesisPublisher
from shardline.local.stack import LocalStack
from shardline.local.stream_consumer import Invocation
from shardline.planner.model import Workload, plan
from shardline.planner.report import counts
from shardline.planner.settings import load_deployment
from tests.integration.stack_ops import paused_mappings, until
from tests.integration.test_scheduled_rollup import schedule_paused  # noqa: F401

DEVICES = 50
HZ = 2.0
METRICS = 3
TOLERANCE = 0.10
FUNCTIONS = ("aggregator", "rollup")
# Small against what a shard receives between two polls (the fleet's keys hash 17/33 over
# the two shards: ~34 and ~66 records a second), so a shard's batches are full but for at
# most one a poll, whatever the split and the local runtime's cadence. With 25 the count
# hung on ceil(66/25) against the planner's even ceil(50/25): 42 batches a run instead of
# 34 when the consumer polled every second, and fewer when it fell behind.
BATCH_SIZE = 6


def _invocations(stack: LocalStack, function: str, since: float) -> list[Invocation]:
    """The engine's invocations of ``function`` (the alias its mapping invokes) that
    started at or after ``since``."""
    assert stack.engine is not None
    arn = str(stack.outputs["function_alias_arns"][function])
    return [call for call in stack.engine.invocation_log
            if call.function == arn and call.at >= since]


@contextmanager
def batches_of(stack: LocalStack, size: int) -> Iterator[None]:
    """The aggregator's mapping set to ``size`` records a batch (UpdateEventSourceMapping,
    as an operator would), and set back afterwards.

    At the local fleet's rate a shard's batches are then full or nearly: their count
    follows the records, not how often the local runtime, slower than Lambda, gets round
    to a shard (it reads one only between invocations)."""
    assert stack.engine is not None
    client = stack.client("lambda")
    arn = str(stack.outputs["function_alias_arns"]["aggregator"])
    mappings = [m for m in client.list_event_source_mappings()["EventSourceMappings"]
                if m["FunctionArn"] == arn]
    assert len(mappings) == 1

    def engine_uses(sizes: dict[str, int]) -> bool:
        seen = {c.mapping.uuid: c.mapping.batch_size for c in stack.engine.consumers()
                if getattr(c, "mapping", None) is not None and c.mapping.uuid in sizes}
        return bool(seen) and all(seen[uuid] == sizes[uuid] for uuid in seen)

    for mapping in mappings:
        client.update_event_source_mapping(UUID=mapping["UUID"], BatchSize=size)
    assert until(lambda: engine_uses({m["UUID"]: size for m in mappings}), 30)
    try:
        yield
    finally:
        for mapping in mappings:
            client.update_event_source_mapping(UUID=mapping["UUID"],
                                               BatchSize=mapping["BatchSize"])
        assert until(lambda: engine_uses({m["UUID"]: m["BatchSize"] for m in mappings}), 30)


def _next_window_start(window_s: int) -> float:
    """The next tumbling-window boundary at least a second away (windows are aligned to
    multiples of their length)."""
    now = time.time()
    boundary = (now // window_s + 1) * window_s
    return boundary + window_s if boundary - now < 1 else boundary


def _publish_live(stack: LocalStack, fleet: FleetConfig, until_s: float) -> tuple[int, float]:
    """Send each record when its event time comes (one PutRecords per tick) until
    ``until_s`` (a slow machine sends fewer ticks rather than spill into the next
    window); the mean record size and the seconds of readings sent."""
    publisher = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
    sizes: list[int] = []
    sent = 0
    ticks = itertools.groupby(generate(fleet), key=lambda item: round(item[0] * HZ))
    for _, group in ticks:
        batch = [record for _, record in group]
        due = batch[-1].ts / 1000
        if max(due, time.time()) >= until_s:
            break
        entries = [(r.device_id, telemetry.encode(r), r) for r in batch]
        sizes += [len(data) for _, data, _ in entries]
        time.sleep(max(0.0, due - time.time()))
        publisher.publish(entries)
        sent += 1
    return round(sum(sizes) / len(sizes)), sent / HZ


def test_planned_writes_and_invocations_match_a_local_run(
        stack: LocalStack, schedule_paused: None) -> None:  # noqa: F811
    # GIVEN the stack idle, with the settings Terraform applied
    deployment = load_deployment(stack.root / "terraform",
                                 stack.root / "terraform" / "envs" / "local.tfvars")
    window = deployment.tumbling_window_s
    stack.wait_until_idle(timeout_s=120)
    assert stack.aws.faults is not None
    table = str(stack.outputs["aggregates_table_name"])
    writes_before = stack.aws.faults.writes()[table]
    since = time.time()

    # WHEN a fleet reports live for one whole window, and the stack processes it
    with batches_of(stack, BATCH_SIZE), paused_mappings(stack, "dispatcher_function_arn"):
        start_s = _next_window_start(window)
        fleet = FleetConfig(devices=DEVICES, rate_hz=HZ, duration_s=window, seed=41,
                            sites=3, start_ms=int(start_s * 1000) + 50)
        record_bytes, seconds = _publish_live(stack, fleet, until_s=start_s + window - 2)
        stack.wait_until_idle(timeout_s=120)
    writes = stack.aws.faults.writes()[table] - writes_before
    calls = {name: _invocations(stack, name, since) for name in FUNCTIONS}
    assert {call.window_start for call in calls["aggregator"]} == {int(start_s)}, (
        "the run's records arrived in more than one window")

    # THEN the planner, given that fleet for those seconds, the stack's two shards and its
    # settings, predicts the aggregates table's writes and the invocations within 10 %
    deployment = replace(deployment,
                         aggregator=replace(deployment.aggregator, batch_size=BATCH_SIZE))
    predicted = counts(plan(Workload(
        devices=DEVICES, hz=HZ, record_bytes=record_bytes, metrics=METRICS, sites=3,
        aggregate=False, fanout=False, shards=2, event_seconds=seconds), deployment))
    planned_writes = predicted["writes.aggregator"] + predicted["writes.rollup"]
    assert abs(writes - planned_writes) <= TOLERANCE * writes, (writes, predicted)
    measured_calls = sum(len(found) for found in calls.values())
    planned_calls = sum(predicted[f"invocations.{name}"] for name in FUNCTIONS)
    assert abs(measured_calls - planned_calls) <= TOLERANCE * measured_calls, (
        {name: len(found) for name, found in calls.items()}, predicted)


def test_terraform_dir_is_the_stacks(stack: LocalStack) -> None:
    # GIVEN the running stack WHEN the planner reads its settings THEN they are the ones
    # Terraform applied (a 10 s tumbling window in envs/local.tfvars)
    deployment = load_deployment(stack.root / "terraform",
                                 stack.root / "terraform" / "envs" / "local.tfvars")
    assert stack.engine is not None
    mapping = next(m for m in stack.engine.mappings()
                   if getattr(m, "tumbling_window_s", 0) > 0)
    assert mapping.tumbling_window_s == deployment.tumbling_window_s
    assert mapping.batch_size == deployment.aggregator.batch_size
