"""KPL-style aggregation per shard: routing by hash range, size caps, order per device,
round trips through the aggregator Lambda's deaggregation, and whole-aggregate retries.

Pure aggregation is tested without AWS; everything that puts records runs against the
session's embedded AWS and reads the stream back with GetRecords, shard by shard.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.shared.kpl import split_user_records
from producers.aggregation import (
    DEFAULT_MAX_AGGREGATE_BYTES,
    HASH_KEY_LIMIT,
    AggregatingPublisher,
    ShardMap,
    ShardMapError,
    aggregate_by_shard,
    hash_key,
    read_shard_map,
    user_entries,
)
from producers.fleet import FleetConfig
from producers.manifest import Manifest
from producers.publisher import KinesisPublisher, PublishError, PutEntry
from producers.simulate import run_simulation
from shardline.cli import main
from shardline.local.embedded import EmbeddedAws
from tests.factories.producer import (
    START_MS,
    StoredUserRecord,
    blob_entries,
    fresh_stream,
    keys_by_shard,
    kinesis_client,
    stored_user_records,
    synthetic_listing,
    telemetry_entries,
)
from tests.support.faults import inject_put_records_failures
from tests.unit.test_producer_support import RecordingClient

# Three uneven shards, so no boundary is a power of two by accident.
UNEVEN_BOUNDS = (0, HASH_KEY_LIMIT // 7, HASH_KEY_LIMIT // 2 + 12_345)


@pytest.fixture
def kinesis(embedded_aws: EmbeddedAws) -> Any:
    return kinesis_client(embedded_aws)


def aggregating(client: Any, stream: str, *, shards_from: Any = None,
                **options: Any) -> AggregatingPublisher:
    """An aggregating publisher that skips its backoff sleeps; ``shards_from`` is the
    client it reads the shard map with (default: ``client``; a spy only puts)."""
    max_aggregate_bytes = options.pop("max_aggregate_bytes", DEFAULT_MAX_AGGREGATE_BYTES)
    inner = KinesisPublisher(stream, client, sleep=lambda _s: None, rng=random.Random(5),
                             **options)
    return AggregatingPublisher(
        inner, max_aggregate_bytes=max_aggregate_bytes,
        load_shard_map=lambda: read_shard_map(shards_from or client, stream))


def identity(entry: PutEntry) -> tuple[str, bytes]:
    return entry.partition_key, bytes(entry.data)


def assert_device_order(stored: list[StoredUserRecord]) -> None:
    """Each device's records sit on one shard, in ``seq`` order by (sequence, sub-sequence)."""
    by_device: dict[str, list[StoredUserRecord]] = defaultdict(list)
    for record in stored:
        by_device[record.partition_key].append(record)
    for device, records in by_device.items():
        assert len({r.shard_id for r in records}) == 1, device
        in_stream = sorted(records, key=lambda r: (r.sequence_number, r.sub_sequence_number or 0))
        seqs = [r.telemetry().seq for r in in_stream]
        assert seqs == sorted(seqs), f"{device} out of order: {seqs}"


# -- hash keys and shard maps (pure) -----------------------------------------------------


def test_hash_key_is_the_md5_of_the_partition_key_as_a_128_bit_integer() -> None:
    # GIVEN the partition key "a", whose MD5 is 0cc175b9c0f1b6a831c399e269772661
    # WHEN / THEN its hash key is that digest read as one big-endian integer
    assert hash_key("a") == 0x0CC175B9C0F1B6A831C399E269772661
    # AND non-ASCII keys hash their UTF-8 bytes, as Kinesis does
    assert hash_key("gerät-ü") == int.from_bytes(
        __import__("hashlib").md5("gerät-ü".encode()).digest(), "big")


def test_the_shard_map_keeps_open_shards_and_routes_by_inclusive_ranges() -> None:
    # GIVEN a listing with three open shards and a closed parent overlapping two of them
    listing = synthetic_listing(
        UNEVEN_BOUNDS, closed=[("shardId-000000000099", UNEVEN_BOUNDS[1], HASH_KEY_LIMIT - 1)]
    )
    # WHEN the map is built
    shard_map = ShardMap.from_list_shards(listing)
    # THEN only the open shards are in it, and each boundary goes to the right side
    assert [s.shard_id for s in shard_map.shards] == [
        "shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]
    first, second, third = shard_map.shards
    assert shard_map.shard_for_hash(0) == first
    assert shard_map.shard_for_hash(UNEVEN_BOUNDS[1] - 1) == first
    assert shard_map.shard_for_hash(UNEVEN_BOUNDS[1]) == second
    assert shard_map.shard_for_hash(UNEVEN_BOUNDS[2]) == third
    assert shard_map.shard_for_hash(HASH_KEY_LIMIT - 1) == third
    # AND a partition key goes to the shard whose range holds its hash key
    for key in (f"dev-{i:05d}" for i in range(200)):
        assert hash_key(key) in shard_map.shard_for(key)


def test_a_listing_that_does_not_tile_the_hash_key_space_is_refused() -> None:
    # GIVEN open shards with a gap between them
    listing = synthetic_listing((0, 1000))
    listing[1]["HashKeyRange"]["StartingHashKey"] = "1001"
    # WHEN / THEN the map refuses it rather than misroute records
    with pytest.raises(ShardMapError, match="expected a range starting at 1000"):
        ShardMap.from_list_shards(listing)


# -- aggregation (pure) ------------------------------------------------------------------


def test_aggregates_stay_under_the_cap_and_round_trip_through_the_aggregators_deaggregation(
) -> None:
    # GIVEN 1,800 telemetry records of 30 devices and three uneven shards
    shard_map = ShardMap.from_list_shards(synthetic_listing(UNEVEN_BOUNDS))
    entries = telemetry_entries(devices=30, rate_hz=2.0, duration_s=30.0)
    # WHEN they are aggregated with a 4 KiB cap
    records = aggregate_by_shard(entries, shard_map, max_aggregate_bytes=4096)
    # THEN no Kinesis record is over the cap, counting data and partition key
    assert max(record.size for record in records) <= 4096
    # AND the aggregates are full: each shard's all but last is within one user record
    # (plus its protobuf framing) of the cap
    largest_user = max(entry.size for entry in entries) + 8
    by_shard: dict[str, list[PutEntry]] = defaultdict(list)
    for record in records:
        by_shard[str(record.expected_shard_id)].append(record)
    for shard_records in by_shard.values():
        assert all(r.size > 4096 - largest_user for r in shard_records[:-1])
    # AND splitting every record with the aggregator's own deaggregation gives back exactly
    # the user records, each shard's in input order
    for shard_id, shard_records in by_shard.items():
        split = [(u.partition_key or r.partition_key, u.data)
                 for r in shard_records for u in split_user_records(r.data)]
        expected = [identity(e) for e in entries
                    if shard_map.shard_for(e.partition_key).shard_id == shard_id]
        assert split == expected
    # AND each record says what it carries
    assert user_entries(records) and sorted(map(identity, user_entries(records))) == sorted(
        map(identity, entries))
    assert sum(r.user_records for r in records) == len(entries)
    assert len(records) < len(entries) / 20


def test_an_aggregate_is_routed_by_its_shards_starting_hash_key() -> None:
    # GIVEN records of several keys that all hash to the second shard
    shard_map = ShardMap.from_list_shards(synthetic_listing(UNEVEN_BOUNDS))
    second = shard_map.shards[1]
    keys = keys_by_shard(shard_map, per_shard=4)[second.shard_id]
    # WHEN they are aggregated
    [record] = aggregate_by_shard(blob_entries(keys, 100, 12), shard_map)
    # THEN one Kinesis record carries them, with the first user record's partition key and
    # an explicit hash key inside (at the start of) the shard's range
    assert record.partition_key == keys[0]
    assert record.explicit_hash_key == str(second.starting_hash_key)
    assert int(record.explicit_hash_key) in second
    assert (record.ordering_key, record.expected_shard_id, record.user_records) == (
        second.shard_id, second.shard_id, 12)


def test_a_user_record_too_big_to_aggregate_goes_alone_in_its_place() -> None:
    # GIVEN one shard's records: small, one bigger than the 1 KiB cap, small again
    shard_map = ShardMap.from_list_shards(synthetic_listing((0,)))
    small_before = blob_entries(["k1", "k2"], 100, 4)
    big = PutEntry("k3", b"B" * 2000, "big")
    small_after = blob_entries(["k1"], 100, 2)
    # WHEN they are aggregated with a 1 KiB cap
    records = aggregate_by_shard([*small_before, big, *small_after], shard_map,
                                 max_aggregate_bytes=1024)
    # THEN the big one is a plain record of its own, between the aggregates around it
    assert [r.user_records for r in records] == [4, 1, 2]
    alone = records[1]
    assert (alone.partition_key, alone.data, alone.explicit_hash_key) == ("k3", big.data, None)
    assert split_user_records(alone.data)[0].sub_sequence_number is None  # not aggregated
    # AND a lone small record is sent plain as well (the KPL does the same)
    [single] = aggregate_by_shard(small_after[:1], shard_map)
    assert single.data == small_after[0].data and single.payload == (small_after[0],)


def test_the_aggregate_cap_counts_the_partition_key_like_kinesis_does() -> None:
    # GIVEN records under a 256-character partition key and a cap of 2,000 bytes
    shard_map = ShardMap.from_list_shards(synthetic_listing((0,)))
    key = "k" * 256
    # WHEN enough to overflow one aggregate are aggregated
    records = aggregate_by_shard(blob_entries([key], 300, 12), shard_map,
                                 max_aggregate_bytes=2000)
    # THEN every record, data plus its 256-byte partition key, is within the cap
    assert len(records) > 1 and all(r.size <= 2000 for r in records)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 700)), min_size=1, max_size=120),
       st.integers(600, 4000))
def test_every_keys_records_keep_their_order_across_aggregates(
    shape: list[tuple[int, int]], cap: int
) -> None:
    # GIVEN any mix of keys and record sizes (some bigger than the cap) and any cap
    shard_map = ShardMap.from_list_shards(synthetic_listing(UNEVEN_BOUNDS))
    entries = [PutEntry(f"dev-{key}", bytes([n % 256]) * size, n)
               for n, (key, size) in enumerate(shape)]
    # WHEN they are aggregated
    records = aggregate_by_shard(entries, shard_map, max_aggregate_bytes=cap)
    # THEN every user record comes out once, and per key in input order
    out = [user.payload for user in user_entries(records)]
    assert sorted(out) == list(range(len(entries)))
    for key in {e.partition_key for e in entries}:
        positions = [u.payload for u in user_entries(records) if u.partition_key == key]
        assert positions == sorted(positions)
    # AND every record fits the stream unless it is a single over-cap user record
    assert all(r.size <= cap or r.user_records == 1 for r in records)


# -- on the embedded AWS -----------------------------------------------------------------


def test_each_aggregate_lands_on_the_shard_its_user_records_hash_to(kinesis: Any) -> None:
    # GIVEN a five-shard stream and 60 devices' telemetry
    stream = fresh_stream(kinesis, shards=5)
    entries = telemetry_entries(devices=60, rate_hz=1.0, duration_s=40.0)
    publisher = aggregating(kinesis, stream)
    accepted: list[PutEntry] = []
    # WHEN it is published aggregated
    report = publisher.publish(entries, on_accepted=accepted.append)
    # THEN every user record read back per shard sits on the shard whose range holds its
    # hash key, as ListShards reports the ranges
    ranges = {s["ShardId"]: (int(s["HashKeyRange"]["StartingHashKey"]),
                             int(s["HashKeyRange"]["EndingHashKey"]))
              for s in kinesis.list_shards(StreamName=stream)["Shards"]}
    stored = stored_user_records(kinesis, stream)
    for record in stored:
        low, high = ranges[record.shard_id]
        assert low <= record.hash_key <= high, record
    assert len({r.shard_id for r in stored}) == 5
    # AND exactly the user records are there, once each, in per-device order
    assert Counter((r.partition_key, r.data) for r in stored) == Counter(map(identity, entries))
    assert_device_order(stored)
    # AND the report counts user records, and the few Kinesis records that carried them
    kinesis_records = {(r.shard_id, r.sequence_number) for r in stored}
    assert report.accepted == len(accepted) == len(entries) == 2400
    assert report.kinesis_records == len(kinesis_records) < len(entries) / 50
    assert report.unexpected_shard == 0 and publisher.shard_map_loads == 1


def test_after_a_split_the_map_holds_the_children_and_aggregates_target_them(
    kinesis: Any,
) -> None:
    # GIVEN a two-shard stream whose first shard was split at a quarter of the key space
    stream = fresh_stream(kinesis, shards=2)
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(HASH_KEY_LIMIT // 4))
    # WHEN the producer reads the shard map and publishes
    shard_map = read_shard_map(kinesis, stream)
    spy = RecordingClient(kinesis)
    publisher = AggregatingPublisher(KinesisPublisher(stream, spy),
                                     load_shard_map=lambda: shard_map)
    entries = telemetry_entries(devices=40, rate_hz=1.0, duration_s=20.0)
    publisher.publish(entries)
    # THEN the map holds the open children and the unsplit shard, not the closed parent
    assert [(s.shard_id, s.starting_hash_key) for s in shard_map.shards] == [
        ("shardId-000000000002", 0),
        ("shardId-000000000003", HASH_KEY_LIMIT // 4),
        ("shardId-000000000001", HASH_KEY_LIMIT // 2),
    ]
    # AND every aggregate sent carries an explicit hash key inside the shard that owns all
    # its user records' hash keys
    sent = [record for call in spy.calls for record in call.records]
    assert {shard_map.shard_for_hash(int(r["ExplicitHashKey"])).shard_id
            for r in sent if "ExplicitHashKey" in r} == {s.shard_id for s in shard_map.shards}
    for record in sent:
        target = (shard_map.shard_for_hash(int(record["ExplicitHashKey"]))
                  if "ExplicitHashKey" in record else shard_map.shard_for(record["PartitionKey"]))
        users = split_user_records(record["Data"])
        assert all(hash_key(u.partition_key or record["PartitionKey"]) in target for u in users)


def test_after_a_split_aggregates_land_on_the_children(kinesis: Any) -> None:
    # GIVEN a split shard, as in the test above
    stream = fresh_stream(kinesis, shards=2)
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(HASH_KEY_LIMIT // 4))
    publisher = aggregating(kinesis, stream)
    # WHEN records are published
    report = publisher.publish(telemetry_entries(devices=20, rate_hz=1.0, duration_s=10.0))
    # THEN they land on the open shards the map predicted (on AWS, by ExplicitHashKey)
    assert report.unexpected_shard == 0


def test_partial_failures_retry_whole_aggregates_without_loss_or_duplicates(
    kinesis: Any,
) -> None:
    # GIVEN 35% of Kinesis records failing per call, two error codes, 2 throttled calls,
    # and small (2 KiB) aggregates so that there are many of them
    stream = fresh_stream(kinesis, shards=3)
    entries = telemetry_entries(devices=24, rate_hz=2.0, duration_s=25.0)
    faults = inject_put_records_failures(
        kinesis, failure_rate=0.35, seed=17, throttle_calls=2,
        error_code=["ProvisionedThroughputExceededException", "InternalFailure"])
    spy = RecordingClient(kinesis)
    publisher = aggregating(spy, stream, shards_from=kinesis, max_attempts=30,
                            max_aggregate_bytes=2048)
    accepted: list[PutEntry] = []
    try:
        # WHEN they are published
        report = publisher.publish(entries, on_accepted=accepted.append)
    finally:
        faults.remove()
    # THEN every user record is in the stream exactly once, in per-device order
    stored = stored_user_records(kinesis, stream)
    assert Counter((r.partition_key, r.data) for r in stored) == Counter(map(identity, entries))
    assert_device_order(stored)
    # AND each user record was reported accepted exactly once
    assert Counter(map(identity, accepted)) == Counter(map(identity, entries))
    # AND failures were retried whole: the report counts Kinesis records for failures and
    # retries, user records for what was accepted
    kinesis_records = len({(r.shard_id, r.sequence_number) for r in stored})
    assert report.failed_records == faults.failed_records > 5
    assert report.throttled_calls == faults.throttled_calls == 2
    assert report.accepted == len(entries) and report.kinesis_records == kinesis_records
    # AND no call carried two aggregates of one shard (so none could overtake another)
    shard_map = publisher.shard_map
    assert shard_map is not None
    for call in spy.calls:
        shards = [shard_map.shard_for_hash(int(r["ExplicitHashKey"])).shard_id
                  if "ExplicitHashKey" in r else shard_map.shard_for(r["PartitionKey"]).shard_id
                  for r in call.records]
        assert len(shards) == len(set(shards))


def test_a_simulation_with_failures_keeps_an_exact_manifest(kinesis: Any) -> None:
    # GIVEN a fleet, an aggregating publisher and 25% of Kinesis records failing
    stream = fresh_stream(kinesis, shards=2)
    config = FleetConfig(devices=15, rate_hz=2.0, duration_s=40.0, seed=3, start_ms=START_MS)
    faults = inject_put_records_failures(kinesis, failure_rate=0.25, seed=4)
    try:
        # WHEN the simulation runs unpaced
        result = run_simulation(config, aggregating(kinesis, stream, max_attempts=30,
                                                    max_aggregate_bytes=4096), paced=False)
    finally:
        faults.remove()
    # THEN the manifest equals the ground truth of every generated record, and of the
    # user records actually in the stream
    in_stream = Manifest()
    in_stream.add_all(r.telemetry() for r in stored_user_records(kinesis, stream))
    assert result.manifest.records_accepted == config.total_records == 1200
    assert result.manifest.diff(in_stream) == []
    assert result.report.accepted == 1200 and faults.failed_records > 0


def test_when_the_retry_budget_runs_out_every_unaccepted_user_record_is_returned(
    kinesis: Any,
) -> None:
    # GIVEN a publisher that may try twice, and every PutRecords record failing
    stream = fresh_stream(kinesis, shards=2)
    entries = telemetry_entries(devices=6, rate_hz=1.0, duration_s=10.0)
    publisher = aggregating(kinesis, stream, max_attempts=2)
    accepted: list[PutEntry] = []
    # WHEN they are published
    with inject_put_records_failures(kinesis, failure_rate=1.0), \
            pytest.raises(PublishError, match="60 user records") as caught:
        publisher.publish(entries, on_accepted=accepted.append)
    # THEN the error holds every user record, in input order, none reported accepted
    assert caught.value.unaccepted == entries and accepted == []
    # AND the shard map will be read again before the next publish
    assert publisher.shard_map is None


def test_a_stream_recreated_with_more_shards_is_noticed_and_the_map_refreshed(
    kinesis: Any,
) -> None:
    # GIVEN a publisher that has read a two-shard stream's map
    stream = fresh_stream(kinesis, shards=2)
    publisher = aggregating(kinesis, stream)
    publisher.publish(telemetry_entries(devices=10, rate_hz=1.0, duration_s=5.0))
    # WHEN the stream is recreated with four shards and the producer publishes again
    kinesis.delete_stream(StreamName=stream)
    kinesis.create_stream(StreamName=stream, ShardCount=4)
    later = telemetry_entries(devices=30, rate_hz=1.0, duration_s=5.0, seed=9)
    stale = publisher.publish(later)
    # THEN the records are accepted, the ones that landed off the old map are counted,
    # and the map is dropped
    assert stale.accepted == len(later) and stale.unexpected_shard > 0
    assert publisher.shard_map is None
    # AND the next publish reads the new map and lands exactly where it predicts
    fresh = publisher.publish(telemetry_entries(devices=30, rate_hz=1.0, duration_s=5.0,
                                                seed=10))
    assert fresh.unexpected_shard == 0 and publisher.shard_map_loads == 2
    assert publisher.shard_map is not None and len(publisher.shard_map.shards) == 4


def test_a_deleted_stream_fails_the_publish_with_every_record_unaccepted(kinesis: Any) -> None:
    # GIVEN a publisher whose stream is deleted after its map was read
    stream = fresh_stream(kinesis, shards=1)
    publisher = aggregating(kinesis, stream)
    publisher.publish(telemetry_entries(devices=2, rate_hz=1.0, duration_s=3.0))
    kinesis.delete_stream(StreamName=stream)
    entries = telemetry_entries(devices=3, rate_hz=1.0, duration_s=4.0)
    # WHEN it publishes
    with pytest.raises(PublishError, match="ResourceNotFoundException") as caught:
        publisher.publish(entries)
    # THEN nothing is accepted, every user record is returned and the map is dropped
    assert caught.value.unaccepted == entries and publisher.shard_map is None
    # AND a publish with no map fails the same way, at ListShards, without a traceback
    with pytest.raises(PublishError, match="cannot read its shards"):
        publisher.publish(entries)


@pytest.mark.parametrize(("flag", "kinesis_records_per_user_record"), [
    ("--aggregate", lambda n: n < 0.1), ("--no-aggregate", lambda n: n == 1.0)])
def test_simulate_aggregates_by_default_and_can_be_told_not_to(
    embedded_aws: EmbeddedAws, kinesis: Any, tmp_path: Any, flag: str,
    kinesis_records_per_user_record: Callable[[float], bool],
) -> None:
    # GIVEN a two-shard stream
    stream = fresh_stream(kinesis, shards=2)
    manifest_path = tmp_path / "manifest.json"
    # WHEN `shardline simulate --fast` runs with the flag
    result = CliRunner().invoke(main, [
        "simulate", "--devices", "10", "--rate", "2", "--duration", "20", "--fast", flag,
        "--stream", stream, "--manifest", str(manifest_path),
        "--endpoint", embedded_aws.endpoint_url])
    # THEN every user record was accepted and written to the manifest
    assert result.exit_code == 0, result.output
    assert "accepted 400 records in" in result.output
    assert Manifest.load(manifest_path).records_accepted == 400
    # AND the stream holds them in few Kinesis records, or one per user record
    stored = stored_user_records(kinesis, stream)
    assert len(stored) == 400
    kinesis_records = len({(r.shard_id, r.sequence_number) for r in stored})
    assert kinesis_records_per_user_record(kinesis_records / 400)
