"""KPL-aggregated producer end to end on the embedded stack: aggregates per shard, some
failing and retried whole, deaggregated by the aggregator Lambda, equal the manifest."""

from __future__ import annotations

from producers.aggregation import AggregatingPublisher
from producers.fleet import FleetConfig
from producers.publisher import KinesisPublisher
from producers.simulate import run_simulation
from shardline.local.stack import LocalStack
from shardline.query import AggregateReader
from tests.integration.accounting import ANCHOR_S
from tests.support.faults import inject_put_records_failures

# Event times four hours back: minutes no other integration test writes to (end to end
# uses the last few minutes, quarantine/DLQ three hours back, rollups one hour back).
HOURS_BACK = 4


def test_aggregated_records_through_the_pipeline_equal_the_manifest(stack: LocalStack) -> None:
    # GIVEN an aggregating producer on the stack's stream, with a fifth of its Kinesis
    # records failing per call (so whole aggregates are retried)
    kinesis = stack.client("kinesis")
    publisher = AggregatingPublisher(KinesisPublisher(str(stack.outputs["stream_name"]),
                                                      kinesis, max_attempts=30))
    start_ms = (ANCHOR_S - HOURS_BACK * 3600) // 60 * 60 * 1000
    fleet = FleetConfig(devices=25, rate_hz=2.0, duration_s=150, seed=21, start_ms=start_ms)

    # WHEN the fleet is produced as fast as possible and the stack drains and closes
    # every window
    with inject_put_records_failures(kinesis, failure_rate=0.2, seed=5) as faults:
        result = run_simulation(fleet, publisher, paced=False)
    stack.wait_until_idle(timeout_s=180)

    # THEN every user record was accepted, carried by far fewer Kinesis records, some of
    # them after a retry
    report = result.report
    assert report.accepted == result.manifest.records_accepted == fleet.total_records == 7500
    assert report.kinesis_records < fleet.total_records / 50
    assert report.failed_records == faults.failed_records > 0

    # AND the minute totals in DynamoDB for this run's minutes equal the manifest exactly,
    # for every device and metric: nothing lost, nothing counted twice
    expected = result.manifest
    minutes = {bucket for _device, _metric, bucket in expected.cells}
    assert len(minutes) >= 3
    reader = AggregateReader(str(stack.outputs["aggregates_table_name"]),
                             stack.client("dynamodb"))
    totals = {(row.device_id, row.metric, row.minute): row.stats
              for row in reader.all_minutes() if row.minute in minutes}
    assert expected.diff_totals(totals) == []
    assert len(totals) == len(expected.cells) == 25 * 3 * len(minutes)
