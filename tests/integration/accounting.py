"""What the integration tests compare: the producer's ground truth against DynamoDB, and
the accounting invariant ``produced = aggregated + quarantined + duplicates dropped + in
failure destination``.

Each test writes event times in hours of its own (``hours_back``), so the minutes it
checks hold nothing but its records, whatever ran before it on the shared stack. Hours
back in use: end to end the last minutes, rollups 1, quarantine/DLQ 3, KPL producer 4,
fault injection 6-10, scheduled rollup 11-12 (it checks whole hours), a device moving
between sites 14.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lambdas.shared import telemetry
from lambdas.shared.aggregates import Stats, bucket_start
from lambdas.shared.kpl import split_user_records
from lambdas.shared.partials import totals_from_partials
from lambdas.shared.telemetry import TelemetryV1
from producers.fleet import TEMPERATURE, FleetConfig, generate
from producers.manifest import Manifest
from producers.publisher import KinesisPublisher
from shardline import dlq
from shardline.local.stack import LocalStack
from shardline.quarantine import QuarantineReader
from shardline.query import AggregateReader

CellKey = tuple[str, str, int]

# Every test places its event times relative to this one instant, taken once per run: with
# ``time.time()`` read by each test, a suite crossing an hour boundary gives two tests
# whose ``hours_back`` differ by one the same hour, and each sees the other's records.
ANCHOR_S = int(time.time())


def hours_back_s(hours: int) -> int:
    """Epoch seconds of the start of the hour ``hours`` before the run's anchor."""
    return (ANCHOR_S - hours * 3600) // 3600 * 3600


def fleet_records(*, hours_back: int, seed: int, devices: int = 6,
                  duration_s: float = 150) -> list[TelemetryV1]:
    """A fleet's records (1 Hz per device) starting ``hours_back`` hours ago, on a minute."""
    start_ms = hours_back_s(hours_back) * 1000
    config = FleetConfig(devices=devices, rate_hz=1.0, duration_s=duration_s, seed=seed,
                         start_ms=start_ms)
    return [record for _, record in generate(config)]


def publish(stack: LocalStack, entries: Iterable[tuple[str, bytes, Any]]) -> None:
    """Put entries (partition key, data, record) in this order; all must be accepted."""
    entries = list(entries)
    publisher = KinesisPublisher(str(stack.outputs["stream_name"]), stack.client("kinesis"))
    report = publisher.publish(entries)
    assert report.accepted == len(entries)


def as_entries(records: Iterable[TelemetryV1]) -> list[tuple[str, bytes, TelemetryV1]]:
    return [(r.device_id, telemetry.encode(r), r) for r in records]


def manifest_of(records: Iterable[TelemetryV1]) -> Manifest:
    manifest = Manifest()
    manifest.add_all(records)
    return manifest


def _reader(stack: LocalStack, *, from_partials: bool = False) -> AggregateReader:
    return AggregateReader(str(stack.outputs["aggregates_table_name"]),
                           stack.client("dynamodb"), from_partials=from_partials)


def partials_in(stack: LocalStack, buckets: set[int]) -> list[dict[str, Any]]:
    return [item for item in _reader(stack)._pages("scan")
            if item.get("kind") == "partial" and int(item["bucket"]) in buckets]


def totals_in(stack: LocalStack, buckets: set[int]) -> dict[CellKey, Stats]:
    """Per-minute figures as queries read them (the rollup's totals)."""
    return {(row.device_id, row.metric, row.minute): row.stats
            for row in _reader(stack).all_minutes() if row.minute in buckets}


def buckets_of(expected: Manifest) -> set[int]:
    return {key[2] for key in expected.cells}


def assert_exact(stack: LocalStack, expected: Manifest) -> None:
    """Totals (what queries read) and the merged partials both equal ``expected``."""
    buckets = buckets_of(expected)
    from_partials = expected.diff_totals(totals_from_partials(partials_in(stack, buckets)))
    assert from_partials == [], f"partials differ from the manifest: {from_partials}"
    totals = expected.diff_totals(totals_in(stack, buckets))
    assert totals == [], f"minute totals differ from the manifest: {totals}"


@dataclass(frozen=True)
class Accounting:
    """Where a test's user records are, counted once each (``total``)."""

    aggregated: int
    quarantined: int
    failed: int
    duplicates: int = 0

    @property
    def total(self) -> int:
        return self.aggregated + self.quarantined + self.duplicates + self.failed


def total_items_in(stack: LocalStack, buckets: set[int]) -> list[dict[str, Any]]:
    return [item for item in _reader(stack)._pages("scan")
            if item.get("kind") == "total" and int(item["bucket"]) in buckets]


def failed_records(stack: LocalStack, buckets: set[int]) -> list[TelemetryV1]:
    """User records of these minutes held in the failure destination (and its DLQ)."""
    queue = dlq.FailureQueue(stack.client("sqs"),
                             str(stack.outputs["failure_queue_url"]).rsplit("/", 1)[-1])
    found = []
    for batch in queue.peek():
        for record in dlq.read_batch_records(stack.client("kinesis"), batch):
            for user in split_user_records(record["Data"]):
                try:
                    decoded = telemetry.decode(user.data)
                except telemetry.InvalidTelemetry:
                    continue
                if bucket_start(decoded.ts) in buckets:
                    found.append(decoded)
    return found


def account(stack: LocalStack, expected: Manifest, *, since_s: float,
            quarantine_key_prefix: str | None = None) -> Accounting:
    """Where this test's records are now, told by one metric every record has: aggregated
    (counted once in the minute totals), duplicates the totals dropped, quarantined (the
    invalid records carry ``quarantine_key_prefix`` as partition key; the losing versions
    of conflicts are counted by the totals), or in the failure destination."""
    buckets = buckets_of(expected)
    totals = [item for item in total_items_in(stack, buckets) if item["metric"] == TEMPERATURE]
    quarantined = sum(int(item.get("conflicts", 0)) for item in totals)
    if quarantine_key_prefix is not None:
        reader = QuarantineReader(str(stack.outputs["quarantine_table_name"]),
                                  stack.client("dynamodb"))
        quarantined += sum(1 for record in reader.records(since_s=since_s)
                           if record.partition_key.startswith(quarantine_key_prefix)
                           and not record.reason.startswith("conflict"))
    return Accounting(aggregated=sum(int(item["count"]) for item in totals),
                      quarantined=quarantined,
                      failed=len(failed_records(stack, buckets)),
                      duplicates=sum(int(item.get("duplicates", 0)) for item in totals))


def aggregator_invocations(stack: LocalStack, *, since_index: int = 0) -> list[Any]:
    assert stack.engine is not None
    alias_arn = stack.outputs["function_alias_arns"]["aggregator"]  # what the mapping invokes
    return [inv for inv in list(stack.engine.invocation_log)[since_index:]
            if inv.function == alias_arn]


def log_position(stack: LocalStack) -> int:
    assert stack.engine is not None
    return len(stack.engine.invocation_log)
