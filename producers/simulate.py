"""Drive a simulated fleet into Kinesis, in real time or as fast as possible.

Paced runs send each record no earlier than its event time, batching whatever is due at
most once per ``batch_interval_s`` (records are then at most that late), which is how a
real fleet behind a gateway looks to the stream. Unpaced runs send the same records, with
the same event timestamps, as fast as PutRecords takes them — for tests and backfills.

Time is injected (``clock``, ``sleep``) so tests run paced simulations on a fake clock in
microseconds. The result's manifest counts only what Kinesis accepted.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from lambdas.shared.telemetry import TelemetryV1, encode
from producers.fleet import FleetConfig, generate
from producers.manifest import Manifest
from producers.publisher import PublishError, PublishReport, PutEntry

# Unpaced runs hand the publisher this many records at a time: large enough to fill
# 500-record calls and keep retries flowing beside fresh records, small enough for a
# lively progress bar.
UNPACED_CHUNK_RECORDS = 2_000

ProgressCallback = Callable[[int, int, PublishReport], None]


class Publisher(Protocol):
    """What the simulation needs from a publisher (``KinesisPublisher`` fits)."""

    def publish(
        self, entries: Sequence[PutEntry], *, on_accepted: Callable[[PutEntry], None] | None
    ) -> PublishReport: ...


@dataclass(frozen=True, slots=True)
class SimulationResult:
    manifest: Manifest
    report: PublishReport
    elapsed_s: float


class SimulationError(RuntimeError):
    """Publishing gave up; ``result`` holds what was accepted up to then (its manifest is
    still exact) and ``unaccepted`` the records of the failed publish."""

    def __init__(
        self, message: str, result: SimulationResult, unaccepted: Sequence[PutEntry]
    ) -> None:
        super().__init__(message)
        self.result = result
        self.unaccepted = list(unaccepted)


def run_simulation(
    config: FleetConfig,
    publisher: Publisher,
    *,
    paced: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: ProgressCallback | None = None,
    batch_interval_s: float = 1.0,
    now_ms: Callable[[], int] | None = None,
) -> SimulationResult:
    """Generate ``config``'s records, publish them, and return what was accepted.

    ``now_ms`` fixes the event time of offset 0 when ``config.start_ms`` is ``None``
    (default: the wall clock). Raises ``SimulationError`` if the publisher gives up.
    """
    if batch_interval_s <= 0:
        raise ValueError("batch_interval_s must be > 0")
    if config.start_ms is None:
        start_ms = now_ms() if now_ms is not None else time.time_ns() // 1_000_000
        config = dataclasses.replace(config, start_ms=start_ms)
    manifest = Manifest(meta=_meta(config, publisher))
    report = PublishReport()
    started = clock()

    def publish(records: list[TelemetryV1]) -> None:
        entries = [PutEntry(r.device_id, encode(r), r) for r in records]
        try:
            report.merge(publisher.publish(entries, on_accepted=_count_into(manifest)))
        except PublishError as exc:
            report.merge(exc.report)
            result = SimulationResult(manifest, report, clock() - started)
            raise SimulationError(
                f"simulation stopped after {manifest.records_accepted} of "
                f"{config.total_records} records: {exc}",
                result,
                exc.unaccepted,
            ) from exc
        if on_progress is not None:
            on_progress(manifest.records_accepted, config.total_records, report)

    batches = (
        _paced_batches(generate(config), clock, sleep, batch_interval_s, started)
        if paced
        else _chunks(generate(config), UNPACED_CHUNK_RECORDS)
    )
    for batch in batches:
        publish(batch)
    return SimulationResult(manifest, report, clock() - started)


def _paced_batches(
    records: Iterator[tuple[float, TelemetryV1]],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    interval_s: float,
    started: float,
) -> Iterator[list[TelemetryV1]]:
    """Batches of records that are due, each yielded at (or just after) its due time.

    A sleep is trusted to have lasted as long as asked even if ``clock`` disagrees, so
    every iteration yields at least one record and the loop always ends.
    """
    upcoming = next(records, None)
    send_not_before = 0.0
    while upcoming is not None:
        due_at = max(upcoming[0], send_not_before)
        elapsed = clock() - started
        if elapsed < due_at:
            sleep(due_at - elapsed)
            elapsed = max(clock() - started, due_at)
        batch: list[TelemetryV1] = []
        while upcoming is not None and upcoming[0] <= elapsed:
            batch.append(upcoming[1])
            upcoming = next(records, None)
        send_not_before = elapsed + interval_s
        yield batch


def _chunks(
    records: Iterator[tuple[float, TelemetryV1]], size: int
) -> Iterator[list[TelemetryV1]]:
    batch: list[TelemetryV1] = []
    for _offset, record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _count_into(manifest: Manifest) -> Callable[[PutEntry], None]:
    def on_accepted(entry: PutEntry) -> None:
        manifest.add(entry.payload)

    return on_accepted


def _meta(config: FleetConfig, publisher: Publisher) -> dict[str, object]:
    meta: dict[str, object] = {"fleet": dataclasses.asdict(config)}
    stream = getattr(publisher, "stream_name", None)
    if stream is not None:
        meta["stream"] = stream
    return meta


__all__ = [
    "ProgressCallback",
    "Publisher",
    "SimulationError",
    "SimulationResult",
    "run_simulation",
]
