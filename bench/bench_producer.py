"""Producer throughput: PutRecords batching (≤500/call, retries of failed records) vs one
PutRecord call per record, side by side against the same embedded AWS in one run.

Each side writes to its own fresh 2-shard stream (moto's Kinesis slows as a shard grows,
so sharing a stream would favour whichever ran first). Last line: one JSON object.
"""

from __future__ import annotations

import json
import time

import boto3

from lambdas.shared import telemetry
from producers.fleet import FleetConfig, generate
from producers.publisher import KinesisPublisher, PutEntry
from shardline.local.embedded import EmbeddedAws

RECORDS = 3000


def main() -> None:
    aws = EmbeddedAws(port=0)
    aws.start()
    try:
        kinesis = boto3.client("kinesis", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
        for name in ("bench-batched", "bench-single"):
            kinesis.create_stream(StreamName=name, ShardCount=2)
        config = FleetConfig(devices=50, rate_hz=2, duration_s=RECORDS / 100, seed=1,
                             start_ms=1_763_900_000_000)
        entries = [PutEntry(r.device_id, telemetry.encode(r)) for _, r in generate(config)]

        started = time.perf_counter()
        KinesisPublisher("bench-batched", kinesis).publish(entries)
        batched_s = time.perf_counter() - started

        started = time.perf_counter()
        for entry in entries:
            kinesis.put_record(StreamName="bench-single", PartitionKey=entry.partition_key,
                               Data=entry.data)
        single_s = time.perf_counter() - started
    finally:
        aws.stop()
    result = {
        "bench": "producer",
        "records": len(entries),
        "user_records_per_s": round(len(entries) / batched_s),
        "baseline_per_s": round(len(entries) / single_s),
        "baseline": "one PutRecord call per record",
        "ratio": round(single_s / batched_s, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
