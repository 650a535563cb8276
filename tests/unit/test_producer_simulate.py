"""Running a fleet into Kinesis: paced on a fake clock, unpaced against the embedded AWS."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from producers.fleet import FleetConfig, generate
from producers.manifest import Manifest
from producers.publisher import KinesisPublisher, PublishReport, PutEntry
from producers.simulate import SimulationError, run_simulation
from tests.support.faults import inject_put_records_failures
from tests.unit.test_producer_support import (
    START_MS,
    FakeTime,
    decoded,
    kinesis_stream,
    stream_contents,
)


def make_config(**overrides: Any) -> FleetConfig:
    values: dict[str, Any] = {
        "devices": 5, "rate_hz": 2.0, "duration_s": 12.0, "seed": 3, "start_ms": START_MS,
    }
    values.update(overrides)
    return FleetConfig(**values)


@dataclass
class AcceptingPublisher:
    """Accepts everything at once and notes when (on the fake clock) each batch went out.

    A stand-in for the publisher interface, so pacing is checked without AWS in the way.
    """

    time: FakeTime
    batches: list[tuple[float, list[PutEntry]]] = field(default_factory=list)
    stream_name: str = "telemetry"

    def publish(
        self, entries: Sequence[PutEntry], *, on_accepted: Callable[[PutEntry], None] | None
    ) -> PublishReport:
        self.batches.append((self.time.now, list(entries)))
        for entry in entries:
            if on_accepted is not None:
                on_accepted(entry)
        self.time.now += 0.01  # a call takes a little time
        return PublishReport(calls=1, accepted=len(entries))


def expected_manifest(config: FleetConfig) -> Manifest:
    manifest = Manifest()
    manifest.add_all(record for _, record in generate(config))
    return manifest


def test_paced_run_sends_each_record_when_due_on_a_fake_clock() -> None:
    # GIVEN a fake clock, and a publisher that accepts everything
    fake = FakeTime()
    publisher = AcceptingPublisher(fake)
    config = make_config()
    progress: list[tuple[int, int]] = []
    # WHEN a 12-second fleet runs paced, batching at most once per second
    result = run_simulation(
        config, publisher, clock=fake.clock, sleep=fake.sleep,
        on_progress=lambda sent, total, _report: progress.append((sent, total)),
    )
    # THEN no record left before its event time, and none waited much more than a second
    started = 1_000.0
    for sent_at, entries in publisher.batches:
        for entry in entries:
            offset = (entry.payload.ts - START_MS) / 1000
            assert offset <= sent_at - started + 1e-9
            assert sent_at - started - offset <= 1.0 + 0.02
    # AND it took about the run's real duration, all of it spent in the injected sleep
    assert len(publisher.batches) == pytest.approx(12, abs=1)
    assert sum(fake.sleeps) <= config.duration_s
    assert config.duration_s - 1.5 <= result.elapsed_s <= config.duration_s + 0.5
    # AND progress climbed to the total, and the manifest has every record
    assert progress[-1] == (config.total_records, config.total_records) == (120, 120)
    assert [sent for sent, _ in progress] == sorted(sent for sent, _ in progress)
    assert result.manifest == expected_manifest(config)
    assert result.report.accepted == 120


def test_paced_run_ends_even_if_the_clock_never_moves() -> None:
    # GIVEN a clock frozen in time and a sleep that does nothing
    publisher = AcceptingPublisher(FakeTime())
    # WHEN a paced run is made
    result = run_simulation(
        make_config(duration_s=5.0), publisher, clock=lambda: 0.0, sleep=lambda _s: None
    )
    # THEN it still finishes (each sleep is trusted to have happened) with all records
    assert result.manifest.records_accepted == 50


def test_unpaced_run_never_sleeps_and_batches_large() -> None:
    # GIVEN a fleet of 2,500 records
    fake = FakeTime()
    publisher = AcceptingPublisher(fake)
    config = make_config(devices=25, duration_s=50.0)
    # WHEN it runs unpaced
    result = run_simulation(config, publisher, paced=False, clock=fake.clock, sleep=fake.sleep)
    # THEN nothing slept, and the records went out in big chunks
    assert fake.sleeps == []
    assert [len(entries) for _, entries in publisher.batches] == [2000, 500]
    assert result.manifest.records_accepted == 2500


def test_start_time_defaults_to_now_and_is_recorded() -> None:
    # GIVEN a config without a start time
    config = make_config(start_ms=None, devices=1, duration_s=2.0)
    # WHEN it runs with an injected wall clock
    result = run_simulation(
        config, AcceptingPublisher(FakeTime()), paced=False, now_ms=lambda: START_MS + 60_000
    )
    # THEN event times start there, and the manifest says so
    assert result.manifest.first_ts_ms is not None
    assert START_MS + 60_000 <= result.manifest.first_ts_ms < START_MS + 61_000
    assert result.manifest.meta["fleet"]["start_ms"] == START_MS + 60_000
    assert result.manifest.meta["stream"] == "telemetry"


def test_unpaced_run_with_faults_writes_exactly_what_the_manifest_says() -> None:
    # GIVEN the embedded AWS with 30% record failures and two throttled calls
    config = make_config(devices=10, duration_s=60.0)
    with kinesis_stream(shards=2) as (client, stream):
        faults = inject_put_records_failures(client, failure_rate=0.3, seed=8, throttle_calls=2)
        publisher = KinesisPublisher(
            stream, client, max_attempts=20, sleep=lambda _s: None, rng=random.Random(1)
        )
        # WHEN the fleet runs unpaced
        result = run_simulation(config, publisher, paced=False)
        # THEN the stream, read back, holds exactly the manifest's records
        from_stream = Manifest()
        from_stream.add_all(decoded(stream_contents(client)))
    assert from_stream.diff(result.manifest) == []
    assert from_stream == result.manifest == expected_manifest(config)
    assert result.report.accepted == config.total_records == 1200
    assert result.report.throttled_calls == 2
    assert result.report.failed_records == faults.failed_records > 0


def test_a_publisher_that_gives_up_stops_the_run_with_an_exact_partial_manifest() -> None:
    # GIVEN a stream that accepts about half the records and a budget of 2 attempts
    config = make_config(devices=6, duration_s=10.0)
    with kinesis_stream() as (client, stream):
        inject_put_records_failures(client, failure_rate=0.5, seed=2)
        publisher = KinesisPublisher(stream, client, max_attempts=2, sleep=lambda _s: None)
        # WHEN the fleet runs
        with pytest.raises(SimulationError, match="simulation stopped after") as caught:
            run_simulation(config, publisher, paced=False)
        stored = Manifest()
        stored.add_all(decoded(stream_contents(client)))
    # THEN the partial result counts exactly what the stream holds
    result = caught.value.result
    assert stored == result.manifest
    assert result.manifest.records_accepted + len(caught.value.unaccepted) == config.total_records
    assert result.report.accepted == result.manifest.records_accepted


def test_batch_interval_must_be_positive() -> None:
    # GIVEN / WHEN / THEN a zero interval is refused before anything runs
    with pytest.raises(ValueError, match="batch_interval_s"):
        run_simulation(make_config(), AcceptingPublisher(FakeTime()), batch_interval_s=0)
