"""Producer throughput, side by side against the same embedded AWS in one run:

1. PutRecords batching (≤500/call, retries of failed records) vs one PutRecord call per
   record (``user_records_per_s`` / ``baseline_per_s`` / ``ratio``);
2. KPL aggregation per shard vs plain PutRecords, both in user records per second
   (``kpl_*``), plus what each puts into Kinesis per user record (records and bytes).

Each measurement writes to its own fresh 2-shard stream (moto's Kinesis slows as a shard
grows: it finds a shard's last sequence number by listing the shard, so sharing a stream
would favour whichever ran first). The KPL comparison alternates the two sides over a few
rounds and keeps each side's median; both publish in the chunks ``run_simulation`` uses,
and aggregation time is inside the measured time. Last line: one JSON object.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import boto3

from lambdas.shared import telemetry
from producers.aggregation import AggregatingPublisher
from producers.fleet import FleetConfig, generate
from producers.publisher import KinesisPublisher, PublishReport, PutEntry
from producers.simulate import UNPACED_CHUNK_RECORDS
from shardline.local.embedded import EmbeddedAws

RECORDS = 3000
KPL_RECORDS = 12_000
KPL_ROUNDS = 3


def fleet_entries(records: int) -> list[PutEntry]:
    config = FleetConfig(devices=50, rate_hz=2, duration_s=records / 100, seed=1,
                         start_ms=1_763_900_000_000)
    return [PutEntry(r.device_id, telemetry.encode(r)) for _, r in generate(config)]


def fresh_stream(kinesis: Any, label: str) -> str:
    name = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=2)
    return name


def timed_publish(publish: Callable[..., PublishReport], entries: Sequence[PutEntry]
                  ) -> tuple[float, PublishReport]:
    """Seconds to publish ``entries`` in simulation-sized chunks, and the summed report."""
    report = PublishReport()
    started = time.perf_counter()
    for start in range(0, len(entries), UNPACED_CHUNK_RECORDS):
        report.merge(publish(entries[start:start + UNPACED_CHUNK_RECORDS]))
    return time.perf_counter() - started, report


def main() -> None:
    aws = EmbeddedAws(port=0)
    aws.start()
    try:
        kinesis = boto3.client("kinesis", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
        entries = fleet_entries(RECORDS)

        batched = fresh_stream(kinesis, "batched")
        started = time.perf_counter()
        KinesisPublisher(batched, kinesis).publish(entries)
        batched_s = time.perf_counter() - started

        single = fresh_stream(kinesis, "single")
        started = time.perf_counter()
        for entry in entries:
            kinesis.put_record(StreamName=single, PartitionKey=entry.partition_key,
                               Data=entry.data)
        single_s = time.perf_counter() - started

        kpl_entries = fleet_entries(KPL_RECORDS)
        kpl_s: list[float] = []
        plain_s: list[float] = []
        for _round in range(KPL_ROUNDS):
            aggregating = AggregatingPublisher(
                KinesisPublisher(fresh_stream(kinesis, "kpl"), kinesis))
            seconds, kpl_report = timed_publish(aggregating.publish, kpl_entries)
            kpl_s.append(seconds)
            plain = KinesisPublisher(fresh_stream(kinesis, "plain"), kinesis)
            seconds, plain_report = timed_publish(plain.publish, kpl_entries)
            plain_s.append(seconds)
    finally:
        aws.stop()
    kpl_median, plain_median = statistics.median(kpl_s), statistics.median(plain_s)
    result = {
        "bench": "producer",
        "records": len(entries),
        "user_records_per_s": round(len(entries) / batched_s),
        "baseline_per_s": round(len(entries) / single_s),
        "baseline": "one PutRecord call per record",
        "ratio": round(single_s / batched_s, 2),
        "kpl_records": len(kpl_entries),
        "kpl_rounds": KPL_ROUNDS,
        "kpl_user_records_per_s": round(len(kpl_entries) / kpl_median),
        "kpl_baseline_per_s": round(len(kpl_entries) / plain_median),
        "kpl_baseline": "plain PutRecords, one Kinesis record per user record",
        "kpl_ratio": round(plain_median / kpl_median, 2),
        "kpl_kinesis_records_per_user_record": round(
            kpl_report.kinesis_records / kpl_report.accepted, 5),
        "kpl_kinesis_bytes_per_user_record": round(
            kpl_report.bytes_accepted / kpl_report.accepted, 1),
        "plain_kinesis_bytes_per_user_record": round(
            plain_report.bytes_accepted / plain_report.accepted, 1),
        "kpl_putrecords_calls": kpl_report.calls,
        "plain_putrecords_calls": plain_report.calls,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
