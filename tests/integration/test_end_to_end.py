"""Telemetry end to end on the embedded stack: producer → Kinesis → ESM engine →
aggregator → DynamoDB, compared exactly with the producer's ground truth."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from lambdas.shared.aggregates import Stats
from lambdas.shared.partials import totals_from_partials
from producers.fleet import FleetConfig
from producers.manifest import Manifest
from producers.publisher import KinesisPublisher
from producers.simulate import run_simulation
from shardline.cli import main
from shardline.local.stack import LocalStack
from shardline.query import AggregateReader
from tests.factories.kinesis import kinesis_record, tumbling_window_event
from tests.integration.accounting import buckets_of, partials_in, totals_in


def _merged(*manifests: Manifest) -> Manifest:
    merged = Manifest()
    for manifest in manifests:
        for key, stats in manifest.totals().items():
            if key in merged.cells:
                merged.cells[key].merge(stats)
            else:
                merged.cells[key] = stats
    return merged


def _aggregates_in_dynamodb(stack: LocalStack, *, from_partials: bool = False
                            ) -> dict[tuple[str, str, int], Stats]:
    """Per-minute figures as queries read them: the rollup's totals (or the partials)."""
    reader = AggregateReader(str(stack.outputs["aggregates_table_name"]),
                             stack.client("dynamodb"), from_partials=from_partials)
    return {(row.device_id, row.metric, row.minute): row.stats for row in reader.all_minutes()}


def _partials_per_minute(stack: LocalStack) -> dict[tuple[str, int], int]:
    reader = AggregateReader(str(stack.outputs["aggregates_table_name"]),
                             stack.client("dynamodb"))
    counts: dict[tuple[str, int], int] = {}
    for item in reader._pages("scan"):
        if item.get("kind") == "partial":
            minute = (str(item["device_id"]), int(item["bucket"]))
            counts[minute] = counts.get(minute, 0) + 1
    return counts


def _totals_partial_counts(stack: LocalStack) -> dict[tuple[str, str, int], int]:
    reader = AggregateReader(str(stack.outputs["aggregates_table_name"]),
                             stack.client("dynamodb"))
    return {(str(item["device_id"]), str(item["metric"]), int(item["bucket"])):
            int(item["partials"]) for item in reader._pages("scan")
            if item.get("kind") == "total"}


def test_terraform_created_the_mapping_the_engine_drives(stack: LocalStack) -> None:
    # GIVEN the stack applied from envs/local.tfvars
    # WHEN the engine discovers mappings through the Lambda API
    assert stack.engine is not None
    aggregator = str(stack.outputs["function_alias_arns"]["aggregator"])  # its live alias
    mappings = [m for m in stack.engine.mappings()
                if m.service == "kinesis" and m.function_arn == aggregator]
    # THEN it sees the aggregator's mapping with every setting Terraform gave it
    assert len(mappings) == 1
    mapping = mappings[0]
    name = stack.outputs["aggregator_function_name"]
    assert mapping.function_arn.endswith(f":function:{name}:live")
    assert mapping.source_arn == stack.outputs["stream_arn"]
    assert mapping.tumbling_window_s > 0
    assert mapping.parallelization_factor == 1
    assert mapping.bisect is True
    assert mapping.report_batch_item_failures is True
    assert mapping.on_failure_arn == stack.outputs["failure_queue_arn"]
    assert {c.shard_id for c in stack.engine.consumers()
            if c.mapping.uuid == mapping.uuid} == {
        s["ShardId"] for s in stack.client("kinesis").list_shards(
            StreamARN=stack.outputs["stream_arn"])["Shards"]
    }


def test_aggregates_equal_the_producers_ground_truth(stack: LocalStack) -> None:
    # GIVEN a fleet whose telemetry spans several event-time minutes (a backfill sent as
    # fast as possible) followed by a short live run paced in real time
    stream = str(stack.outputs["stream_name"])
    publisher = KinesisPublisher(stream, stack.client("kinesis"))
    now_ms = int(time.time() * 1000)
    backfill = FleetConfig(devices=20, rate_hz=1.0, duration_s=150, seed=7,
                           start_ms=now_ms - 200_000)
    live = FleetConfig(devices=10, rate_hz=2.0, duration_s=12, seed=8)

    assert stack.engine is not None
    mark = len(stack.engine.invocation_log)

    # WHEN both are produced and the stack drains every shard and closes every window
    first = run_simulation(backfill, publisher, paced=False)
    second = run_simulation(live, publisher, paced=True)
    # (idle includes the rollup having polled the table's stream after the last flush)
    stack.wait_until_idle(timeout_s=180)

    # THEN every device, metric and minute of theirs in DynamoDB equals the ground truth
    # exactly, read through the rollup's minute totals (other tests' devices may share
    # these minutes: only this fleet's devices are compared)
    expected = _merged(first.manifest, second.manifest)
    assert first.report.accepted == backfill.total_records
    assert second.report.accepted == live.total_records
    assert len(expected.cells) > 3 * 20 * 3  # several minutes, all devices and metrics
    buckets, devices = buckets_of(expected), {key[0] for key in expected.cells}
    totals = {key: stats for key, stats in totals_in(stack, buckets).items()
              if key[0] in devices}
    problems = expected.diff_totals(totals)
    assert problems == []

    # AND every total is exactly its device-minute's partials merged, and counts them all
    ours = [p for p in partials_in(stack, buckets) if p["device_id"] in devices]
    assert totals == totals_from_partials(ours)
    partials = _partials_per_minute(stack)
    counts = _totals_partial_counts(stack)
    assert {cell: n for cell, n in counts.items() if cell[2] in buckets} == {
        cell: partials[(cell[0], cell[2])] for cell in counts if cell[2] in buckets}

    # AND the engine invoked the aggregator with final invokes that closed the windows
    aggregator_arn = str(stack.outputs["function_alias_arns"]["aggregator"])
    log = [inv for inv in list(stack.engine.invocation_log)[mark:]
           if inv.function == aggregator_arn]
    assert all(inv.outcome == "ok" for inv in log)
    assert sum(inv.batch_size for inv in log) == first.report.accepted + second.report.accepted
    assert any(inv.final_for_window for inv in log)

    # AND `shardline query` shows the same per-minute figures for one device
    device, metric = "dev-00001", "temperature_c"
    result = CliRunner().invoke(main, [
        "query", "--device", device, "--metric", metric, "--since", "10m",
        "--format", "json", "--endpoint", stack.endpoint_url,
        "--table", str(stack.outputs["aggregates_table_name"]),
    ])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    cells = {key: stats for key, stats in expected.cells.items()
             if key[0] == device and key[1] == metric}
    assert [row["count"] for row in rows] == [cells[k].count for k in sorted(cells)]
    assert [row["sum"] for row in rows] == [str(cells[k].total) for k in sorted(cells)]


def test_replaying_a_window_does_not_double_count(stack: LocalStack) -> None:
    # GIVEN aggregates already written for some records
    before = _aggregates_in_dynamodb(stack)
    assert stack.engine is not None
    consumer = next(c for c in stack.engine.consumers() if c.mapping.service == "kinesis"
                    and c.mapping.source_arn == stack.outputs["stream_arn"])
    kinesis = stack.client("kinesis")
    # WHEN the same shard is read again from the start by a second mapping on the same
    # function — the records of each window arrive again in the same windows
    iterator = kinesis.get_shard_iterator(StreamARN=stack.outputs["stream_arn"],
                                          ShardId=consumer.shard_id,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    replayed = kinesis.get_records(ShardIterator=iterator, Limit=10_000,
                                   StreamARN=stack.outputs["stream_arn"])["Records"]
    assert replayed, "the shard holds records to replay"
    window = consumer.mapping.tumbling_window_s
    start = int(replayed[0]["ApproximateArrivalTimestamp"].timestamp() // window * window)
    same_window = [r for r in replayed
                   if int(r["ApproximateArrivalTimestamp"].timestamp() // window * window)
                   == start]
    stream_arn = str(stack.outputs["stream_arn"])
    event = tumbling_window_event(
        [kinesis_record(r["Data"], sequence_number=r["SequenceNumber"],
                        partition_key=r["PartitionKey"],
                        arrival_s=r["ApproximateArrivalTimestamp"].timestamp(),
                        shard_id=consumer.shard_id, stream_arn=stream_arn)
         for r in same_window],
        window_start_s=start, window_seconds=window, shard_id=consumer.shard_id,
        stream_arn=stream_arn, is_final=True,
    )
    response = stack.client("lambda").invoke(
        FunctionName=str(stack.outputs["aggregator_function_name"]),
        Payload=json.dumps(event).encode())
    # THEN the function succeeded and, once the rollup has seen the rewritten partials,
    # the totals in DynamoDB did not change
    assert "FunctionError" not in response, response["Payload"].read()
    stack.wait_until_idle(timeout_s=60)
    assert _aggregates_in_dynamodb(stack) == before
    assert _aggregates_in_dynamodb(stack, from_partials=True) == before
