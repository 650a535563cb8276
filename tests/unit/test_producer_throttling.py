"""Producers under the embedded AWS's real Kinesis write limits (1,000 records/s and
1 MiB/s per shard): a flooding device is throttled, the publisher backs off and retries,
and no device's readings are lost, duplicated or reordered.

The limits run on a virtual clock that only the publisher's backoff sleeps move, so a
flood that takes seconds on AWS takes milliseconds here, and the run is repeatable.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from lambdas.shared.telemetry import encode
from producers import publisher as publisher_module
from producers.aggregation import AggregatingPublisher
from producers.fleet import FleetConfig, generate
from producers.floods import Flood
from producers.manifest import Manifest
from producers.publisher import KinesisPublisher, PutEntry
from shardline.cli import main
from shardline.local.embedded import EmbeddedAws
from shardline.local.kinesis_writes import KinesisWriteLimits
from shardline.local.scheduling import VirtualClock
from tests.factories.producer import START_MS, fresh_stream, kinesis_client, stored_user_records
from tests.unit.test_producer_aggregation import assert_device_order

FLOODER = "dev-00002"


@pytest.fixture
def limits(embedded_aws: EmbeddedAws) -> Iterator[KinesisWriteLimits]:
    """The session's embedded AWS with write limits on (off again afterwards)."""
    assert embedded_aws.kinesis_writes is not None
    yield embedded_aws.kinesis_writes
    embedded_aws.kinesis_writes.disable()


def flooded_fleet(duration_s: float) -> list[PutEntry]:
    """Six devices at 2 readings/s and one at 10,000/s (~1.5 MB/s), in event-time order."""
    config = FleetConfig(devices=6, rate_hz=2.0, duration_s=duration_s, seed=3,
                         start_ms=START_MS, floods=(Flood(FLOODER, 10_000.0),))
    return [PutEntry(r.device_id, encode(r), r) for _offset, r in generate(config)]


def test_a_flooding_device_is_throttled_and_nothing_is_lost_or_reordered(
        embedded_aws: EmbeddedAws, limits: KinesisWriteLimits) -> None:
    # GIVEN a two-shard stream whose write limits run on a virtual clock, moved only by
    # the publisher's backoff sleeps
    kinesis = kinesis_client(embedded_aws)
    stream = fresh_stream(kinesis, shards=2)
    clock = VirtualClock(1_800_000_000.0)
    limits.enable(clock)
    publisher = AggregatingPublisher(KinesisPublisher(
        stream, kinesis, sleep=lambda s: clock.advance_to(clock.now() + s),
        rng=random.Random(4)))
    entries = flooded_fleet(duration_s=1.0)

    # WHEN the fleet's 10,012 readings (about 1.5 MB, nearly all the flooder's) are published
    # in one go
    accepted: list[PutEntry] = []
    report = publisher.publish(entries, on_accepted=accepted.append)

    # THEN the flooder's shard refused records (throttled), which were retried until
    # accepted, taking about as long as its 1 MiB/s allows
    assert report.throttled_records > 0
    assert report.error_codes["ProvisionedThroughputExceededException"] == report.failed_records
    assert clock.now() - 1_800_000_000.0 > 0.3
    # AND every reading is in the stream exactly once, each device's in order
    stored = stored_user_records(kinesis, stream)
    assert Counter((r.partition_key, r.data) for r in stored) == Counter(
        (e.partition_key, bytes(e.data)) for e in entries)
    assert report.accepted == len(accepted) == len(entries)
    assert_device_order(stored)


def test_simulate_reports_the_records_a_flood_got_throttled(
        embedded_aws: EmbeddedAws, limits: KinesisWriteLimits, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a one-shard stream whose write limits run on a virtual clock, which the
    # simulator's backoff sleeps move (its publisher sleeps on that clock)
    kinesis = kinesis_client(embedded_aws)
    stream = fresh_stream(kinesis, shards=1)
    clock = VirtualClock(1_800_000_000.0)
    limits.enable(clock)
    monkeypatch.setattr(publisher_module, "KinesisPublisher", functools.partial(
        KinesisPublisher, sleep=lambda s: clock.advance_to(clock.now() + s)))
    manifest_path = tmp_path / "manifest.json"

    # WHEN `shardline simulate --fast` runs with a device flooding ~1.5 MB in a second
    result = CliRunner().invoke(main, [
        "simulate", "--devices", "3", "--rate", "1", "--duration", "1", "--fast",
        "--flood", "dev-00003=10000", "--stream", stream, "--manifest", str(manifest_path),
        "--endpoint", embedded_aws.endpoint_url])

    # THEN every reading was accepted in the end, and the run says some were throttled
    assert result.exit_code == 0, result.output
    assert "accepted 10,002 records" in result.output
    assert "throttled: " in result.output
    assert "ProvisionedThroughputExceededException" in result.output
    assert Manifest.load(manifest_path).records_accepted == 10_002


def test_a_flood_of_a_device_outside_the_fleet_is_refused_in_one_line(tmp_path: Any) -> None:
    # WHEN a flood names a device the fleet does not have, or is malformed
    outside = CliRunner().invoke(main, ["simulate", "--devices", "3", "--flood",
                                        "dev-00009=5000", "--manifest",
                                        str(tmp_path / "m.json")])
    malformed = CliRunner().invoke(main, ["simulate", "--flood", "dev-00001:fast"])

    # THEN each fails with one line saying what is wrong
    assert outside.exit_code != 0 and "flooding device dev-00009 is not in the fleet" in (
        outside.output)
    assert malformed.exit_code != 0 and "is not of the form DEVICE=RATE" in malformed.output
