"""Write amplification: DynamoDB items written per user record, shardline vs a naive
per-reading writer, measured side by side on one embedded stack in one run.

shardline writes one partial per (device, minute, shard, arrival window), one minute
total per metric each time the rollup recomputes a touched device-minute, a pending-hour
marker per (hour, marker shard of its devices) per rollup batch, and the scheduled
roll-ups (one run here). The naive design it replaces does one ``UpdateItem ... ADD`` per
reading. Both are counted by the embedded AWS's write meter (items DynamoDB applied), on
the same fleet's records, with the Terraform configuration of ``envs/local.tfvars`` (10 s
tumbling windows: the production setting is longer, so amplification is lower).

Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from lambdas.shared import telemetry
from lambdas.shared.aggregates import bucket_start, minute_label
from producers.fleet import FleetConfig, generate
from producers.manifest import Manifest
from producers.publisher import KinesisPublisher
from shardline.local.stack import LocalStack
from shardline.query import AggregateReader

DEVICES = 20
DURATION_S = 120
IDLE_TIMEOUT_S = 300
NAIVE_TABLE = "bench-naive-per-reading"


def _naive_writes(stack: LocalStack, records: list[telemetry.TelemetryV1]) -> None:
    """The baseline: one atomic counter update per reading, keyed by device/metric/minute."""
    client = stack.client("dynamodb")
    client.create_table(
        TableName=NAIVE_TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                   {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"}])
    for record in records:
        minute = minute_label(bucket_start(record.ts))
        for reading in telemetry.to_readings(record):
            client.update_item(
                TableName=NAIVE_TABLE,
                Key={"PK": {"S": f"DM#{record.device_id}#{reading.metric}"},
                     "SK": {"S": f"T#{minute}"}},
                UpdateExpression="ADD #c :one, #s :v",
                ExpressionAttributeNames={"#c": "count", "#s": "sum"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":v": {"N": str(reading.value)}})


def main() -> int:
    config = FleetConfig(devices=DEVICES, rate_hz=1.0, duration_s=DURATION_S, seed=3)
    records = [record for _, record in generate(config)]
    manifest = Manifest()
    manifest.add_all(records)
    readings = sum(stats.count for stats in manifest.totals().values())

    with tempfile.TemporaryDirectory() as state, LocalStack(port=0, dir=Path(state)) as stack:
        assert stack.aws.faults is not None
        meter = stack.aws.faults
        table = str(stack.outputs["aggregates_table_name"])
        publisher = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
        publisher.publish([(r.device_id, telemetry.encode(r), r) for r in records])
        stack.wait_until_idle(timeout_s=IDLE_TIMEOUT_S)
        streaming = meter.writes()[table]
        # One scheduled roll-up run (EventBridge would start it every 5 minutes).
        response = stack.client("lambda").invoke(
            FunctionName=str(stack.outputs["scheduled_rollup_function_name"]), Payload=b"{}")
        if "FunctionError" in response:
            raise SystemExit(f"scheduled rollup failed: {response['Payload'].read()!r}")
        written: dict[str, Any] = dict(meter.writes())
        units = meter.write_units()[table]
        kinds = _items_by_kind(stack, table)
        reader = AggregateReader(table, stack.client("dynamodb"))
        problems = manifest.diff_totals({(row.device_id, row.metric, row.minute): row.stats
                                         for row in reader.all_minutes()})

        before = meter.writes()[NAIVE_TABLE]
        _naive_writes(stack, records)
        naive = meter.writes()[NAIVE_TABLE] - before
        naive_units = meter.write_units()[NAIVE_TABLE]

    shardline_writes = written.get(table, 0)
    result = {
        "bench": "write_amplification",
        "user_records": len(records),
        "readings": readings,
        "tumbling_window_s": 10,
        "dynamodb_writes": shardline_writes,
        "writes_streaming": streaming,
        "writes_scheduled_rollup": shardline_writes - streaming,
        "writes_per_user_record": round(shardline_writes / len(records), 3),
        "writes_per_reading": round(shardline_writes / readings, 3),
        "write_units": units,
        "write_units_per_user_record": round(units / len(records), 3),
        "items_by_kind": kinds,
        "baseline": "one UpdateItem ADD per reading",
        "baseline_writes": naive,
        "baseline_write_units": naive_units,
        "baseline_writes_per_user_record": round(naive / len(records), 3),
        "ratio": round(naive / shardline_writes, 2),
        "totals_exact": not problems,
    }
    print(json.dumps(result))
    return 0 if naive == readings and not problems else 1


def _items_by_kind(stack: LocalStack, table: str) -> dict[str, int]:
    """How many distinct items of each kind the table holds (partials, totals, ...)."""
    counts: dict[str, int] = {}
    paginator = stack.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=table, ProjectionExpression="kind"):
        for item in page["Items"]:
            kind = item.get("kind", {}).get("S", "other")
            counts[kind] = counts.get(kind, 0) + 1
    return counts


if __name__ == "__main__":
    sys.exit(main())
