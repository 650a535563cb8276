"""Aggregator hot path: shardline's handler (Powertools BatchProcessor, msgspec validation,
exact Decimal statistics, window state round trip) vs a naive fold (``json.loads`` and
float sums in a dict, no validation, no state) over the same Kinesis event, in one run.

The ratio says what validation, exactness and the Lambda contract cost per record. The
state carries the window's readings (exactly once per reading needs them), so its size
is given per reading, and per (device, metric, minute) cell as before for comparison;
both say how much fits in the 1 MB window state. Last line: one JSON object.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path

# The event factories live in tests/, which is not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("AGGREGATES_TABLE", "bench-aggregates")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from lambdas.aggregator.handler import lambda_handler
from tests.factories.kinesis import KinesisShard, lambda_context, tumbling_window_event
from tests.factories.telemetry import fleet_records

DEVICES, PER_DEVICE, REPEATS = 200, 50, 5


def naive_fold(event: dict) -> dict:
    cells: dict[tuple[str, str, int], list[float]] = {}
    for record in event["Records"]:
        body = json.loads(base64.b64decode(record["kinesis"]["data"]))
        bucket = body["ts"] // 60_000
        for metric, value in body["metrics"].items():
            cell = cells.setdefault((body["device_id"], metric, bucket), [0, 0.0, value, value])
            cell[0] += 1
            cell[1] += value
            cell[2] = min(cell[2], value)
            cell[3] = max(cell[3], value)
    return cells


def best_of(action, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    records = fleet_records(devices=DEVICES, per_device=PER_DEVICE)
    shard = KinesisShard()
    event = tumbling_window_event(shard.records(records))
    context = lambda_context()

    response = lambda_handler(event, context)
    assert not response["batchItemFailures"], response
    readings = len(records)
    cells = len({(r.device_id, metric, r.ts // 60_000) for r in records for metric in r.metrics})
    state_bytes = len(json.dumps(response["state"]))

    handler_s = best_of(lambda: lambda_handler(event, context), REPEATS)
    naive_s = best_of(lambda: naive_fold(event), REPEATS)
    n = len(records)
    print(json.dumps({
        "bench": "aggregator",
        "records": n,
        "user_records_per_s": round(n / handler_s),
        "baseline_per_s": round(n / naive_s),
        "baseline": "json.loads + float fold, no validation/state",
        "ratio": round(naive_s / handler_s, 2),
        "state_bytes_per_reading": round(state_bytes / readings, 1),
        "readings_per_mb_state": int(1024 * 1024 / (state_bytes / readings)),
        "state_bytes_per_cell": round(state_bytes / cells, 1),
        "cells_per_mb_state": int(1024 * 1024 / (state_bytes / cells)),
    }))


if __name__ == "__main__":
    main()
