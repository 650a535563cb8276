"""Quarantine and failed-batch replay on the embedded stack: invalid records are
quarantined and listed, a record that crashes the aggregator ends in the failure queue
while its shard moves on, and `shardline dlq replay` makes the aggregates whole.

The crash is a drill: a test-only wrapper around the aggregator's handler
(``tests.support.poison_aggregator``) is deployed into the running stack through the
Lambda API, and the aggregator's own package is deployed again to fix the "bug"."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from lambdas.shared import telemetry
from lambdas.shared.kpl import split_user_records
from lambdas.shared.partials import totals_from_partials
from producers.fleet import FleetConfig
from producers.manifest import Manifest
from producers.publisher import KinesisPublisher
from producers.simulate import run_simulation
from shardline import dlq
from shardline.cli import main
from shardline.local.stack import LocalStack, project_root
from tests.factories.telemetry import INVALID_RECORDS, telemetry_record
from tests.integration.accounting import ANCHOR_S, partials_in
from tests.support.deploy import WrappedFunction
from tests.support.poison_aggregator import POISON_DEVICES_VARIABLE

POISON_DEVICE = "dev-poison"
INVALID_EVERY = 20  # one invalid record per 20 valid ones: a 5 % rate


def _cli(stack: LocalStack, *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--endpoint", stack.endpoint_url])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def aggregator_drill(stack: LocalStack) -> Iterator[WrappedFunction]:
    """The aggregator, ready to have the poison wrapper deployed; its own package is
    deployed again after the test whatever happens."""
    drill = WrappedFunction(stack.client("lambda"), str(stack.outputs["aggregator_function_name"]),
                            "aggregator", "tests.support.poison_aggregator", project_root())
    yield drill
    drill.restore()


def test_quarantine_failure_queue_and_replay_account_for_every_record(
        stack: LocalStack, aggregator_drill: WrappedFunction) -> None:
    # GIVEN an aggregator with a bug that crashes on one device's records
    aggregator_drill.deploy({POISON_DEVICES_VARIABLE: POISON_DEVICE})
    started = time.time()
    stream = str(stack.outputs["stream_name"])
    publisher = KinesisPublisher(stream, stack.client("kinesis"))
    # Event times three hours back: minutes no other test writes to.
    start_ms = (ANCHOR_S - 3 * 3600) // 60 * 60 * 1000
    fleet = FleetConfig(devices=8, rate_hz=1.0, duration_s=100, seed=11, start_ms=start_ms)

    # WHEN a fleet, invalid records at a 5 % rate and one poison record are produced
    result = run_simulation(fleet, publisher, paced=False)
    invalid_kinds = list(INVALID_RECORDS.items())
    invalid_count = fleet.total_records // INVALID_EVERY
    invalid = [(f"bad-{i}", invalid_kinds[i % len(invalid_kinds)][1], None)
               for i in range(invalid_count)]
    publisher.publish(invalid)
    poison = telemetry_record(POISON_DEVICE, ts=start_ms + 30_000, seq=1)
    publisher.publish([(POISON_DEVICE, telemetry.encode(poison), poison)])
    stack.wait_until_idle(timeout_s=240)

    expected = Manifest()
    for key, stats in result.manifest.totals().items():
        expected.cells[key] = stats.copy()
    expected.add(poison)
    buckets = {key[2] for key in expected.cells}

    # THEN every invalid record is quarantined, and `quarantine list` shows them
    listed = json.loads(_cli(stack, "quarantine", "list", "--since", "1h", "--format",
                             "json", "--table", str(stack.outputs["quarantine_table_name"]))
                        .stdout)
    mine = [row for row in listed if str(row["partition_key"]).startswith("bad-")]
    assert len(mine) == invalid_count
    assert {row["reason"].split(":")[0] for row in mine} >= {"decode", "schema"}

    # AND the poison record's batch is in the failure queue, the shard having moved on
    batches = dlq.FailureQueue(stack.client("sqs"),
                               str(stack.outputs["failure_queue_url"]).rsplit("/", 1)[-1]
                               ).peek()
    assert batches, "the poison record's batch reached the failure queue"
    assert all(b.condition == "RetryAttemptsExhausted" for b in batches)
    failed_user_records = [
        telemetry.decode(user.data)
        for batch in batches
        for record in dlq.read_batch_records(stack.client("kinesis"), batch)
        for user in split_user_records(record["Data"])
    ]
    assert POISON_DEVICE in {record.device_id for record in failed_user_records}
    listed_batches = json.loads(_cli(stack, "dlq", "list", "--format", "json").stdout)
    assert [(b["shard"], b["start_sequence"]) for b in listed_batches] == [
        (b.shard_id, b.start_sequence_number) for b in batches]

    # AND produced = aggregated + quarantined + in the failure destination, exactly
    partials = partials_in(stack, buckets)
    aggregated_user_records = sum(stats.count for (_, metric, _), stats
                                  in totals_from_partials(partials).items()
                                  if metric == "temperature_c")
    produced = fleet.total_records + invalid_count + 1
    assert result.report.accepted == fleet.total_records
    assert produced == aggregated_user_records + len(mine) + len(failed_user_records)
    in_failures = Manifest()
    in_failures.add_all(failed_user_records)
    before = totals_from_partials(partials)
    for key, stats in in_failures.totals().items():
        merged = before.get(key)
        if merged is None:
            before[key] = stats
        else:
            merged.merge(stats)
    assert expected.diff_totals(before) == []

    # WHEN the bug is fixed (the aggregator's own package deployed) and the failed batches
    # are replayed
    aggregator_drill.restore()
    replay = CliRunner().invoke(main, ["dlq", "replay", "--yes", "--endpoint",
                                       stack.endpoint_url])
    assert replay.exit_code == 0, replay.output
    stack.wait_until_idle(timeout_s=120)

    # THEN the aggregates equal the producer's manifest (minus the quarantined records,
    # which it never held) exactly, and nothing is left in the failure queue
    after = partials_in(stack, buckets)
    assert expected.diff_totals(totals_from_partials(after)) == []
    replay_segments = Counter(item.get("segment", "") for item in after
                              if str(item.get("segment", "")).startswith("replay-"))
    assert set(replay_segments) == {f"replay-{b.start_sequence_number}" for b in batches}
    assert dlq.FailureQueue(stack.client("sqs"),
                            str(stack.outputs["failure_queue_url"]).rsplit("/", 1)[-1]
                            ).peek() == []
    assert time.time() - started < 600
