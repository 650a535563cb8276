"""PutRecords publishing against the embedded AWS, with real injected partial failures.

The stream is read back after every run: each accepted record must be there exactly once
and nothing else — the property that makes the manifest the pipeline's ground truth.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

import pytest

from lambdas.shared.backoff import FullJitterBackoff
from lambdas.shared.telemetry import decode, encode
from producers.publisher import KinesisPublisher, PublishError
from producers.put_entries import (
    MAX_RECORDS_PER_CALL,
    MAX_REQUEST_BYTES,
    InvalidEntryError,
    PutEntry,
)
from tests.support.faults import inject_put_records_failures
from tests.unit.test_producer_support import (
    RecordingClient,
    decoded,
    entries_for,
    fleet_records,
    kinesis_stream,
    stream_contents,
)


@pytest.fixture
def kinesis() -> Any:
    with kinesis_stream(shards=2) as (client, _stream):
        yield client


def make_publisher(client: Any, **overrides: Any) -> tuple[KinesisPublisher, list[float]]:
    """A publisher whose sleeps are recorded instead of slept."""
    sleeps: list[float] = []
    options: dict[str, Any] = {"sleep": sleeps.append, "rng": random.Random(3)}
    options.update(overrides)
    return KinesisPublisher("telemetry", client, **options), sleeps


def blob_entries(count: int, size: int, keys: int = 3) -> list[PutEntry]:
    return [PutEntry(f"key-{i % keys}", bytes([i % 251]) * size, i) for i in range(count)]


def test_large_inputs_go_out_in_calls_of_at_most_500_records(kinesis: Any) -> None:
    # GIVEN 1,234 telemetry records
    records = fleet_records(devices=10, rate_hz=4.0, duration_s=31.0)[:1234]
    spy = RecordingClient(kinesis)
    publisher, sleeps = make_publisher(spy)
    # WHEN they are published
    report = publisher.publish(entries_for(records))
    # THEN three calls carried them, none over the limit, without retries
    assert [len(call.records) for call in spy.calls] == [500, 500, 234]
    assert report.calls == 3 and report.accepted == 1234 and sleeps == []
    # AND the stream holds exactly those records
    assert Counter(r.data for r in stream_contents(kinesis)) == Counter(
        e.data for e in entries_for(records)
    )


def test_calls_stay_under_the_request_byte_limit(kinesis: Any) -> None:
    # GIVEN 12 records of 100,005 bytes with their keys, and room for exactly 5 per call
    entries = blob_entries(12, 100_000)
    spy = RecordingClient(kinesis)
    publisher, _ = make_publisher(spy, max_request_bytes=5 * 100_005)
    # WHEN they are published
    publisher.publish(entries)
    # THEN calls are filled up to the limit (data + partition keys) and never past it
    sizes = [sum(len(r["Data"]) + len(r["PartitionKey"]) for r in c.records) for c in spy.calls]
    assert [len(call.records) for call in spy.calls] == [5, 5, 2]
    assert max(sizes) == 5 * 100_005
    assert len(stream_contents(kinesis)) == 12
    # AND the defaults are the documented AWS limits
    assert (MAX_RECORDS_PER_CALL, MAX_REQUEST_BYTES) == (500, 10 * 1024 * 1024)


def test_an_oversize_record_is_rejected_before_anything_is_sent(kinesis: Any) -> None:
    # GIVEN a batch whose third record is one byte over 1 MiB with its partition key
    entries = [*blob_entries(2, 100), PutEntry("key-x", b"x" * (1024 * 1024 - 4))]
    spy = RecordingClient(kinesis)
    publisher, _ = make_publisher(spy)
    # WHEN it is published
    # THEN it fails loudly, naming the record, and nothing of the batch was written
    with pytest.raises(InvalidEntryError, match=r"entry 2 \(partition key 'key-x'\) is 1048577"):
        publisher.publish(entries)
    assert spy.calls == [] and stream_contents(kinesis) == []


def test_a_bad_partition_key_is_rejected(kinesis: Any) -> None:
    # GIVEN an entry with an empty partition key
    publisher, _ = make_publisher(kinesis)
    # WHEN / THEN it is refused with a clear message
    with pytest.raises(InvalidEntryError, match="partition key must be 1-256 characters"):
        publisher.publish([("", b"{}", None)])


def test_partial_failures_and_throttles_are_retried_until_all_are_accepted(
    kinesis: Any,
) -> None:
    # GIVEN 30% of records failing per call, mixed error codes, and 3 throttled calls
    records = fleet_records(devices=24, rate_hz=2.0, duration_s=25.0)
    faults = inject_put_records_failures(
        kinesis, failure_rate=0.3, seed=42, throttle_calls=3,
        error_code=["ProvisionedThroughputExceededException", "InternalFailure"],
    )
    publisher, sleeps = make_publisher(kinesis, max_attempts=20)
    accepted: list[PutEntry] = []
    # WHEN the records are published
    report = publisher.publish(entries_for(records), on_accepted=accepted.append)
    # THEN every record is in the stream exactly once, and nothing else is
    assert sorted(decoded(stream_contents(kinesis)), key=_identity) == sorted(
        records, key=_identity
    )
    # AND each was reported accepted exactly once
    assert sorted((e.payload for e in accepted), key=_identity) == sorted(records, key=_identity)
    # AND the report agrees with what the injector did
    assert report.accepted == len(records) == 1200
    assert report.throttled_calls == faults.throttled_calls == 3
    assert report.failed_records == faults.failed_records > 0
    assert report.calls == faults.calls
    assert report.error_codes == faults.failures_by_code + Counter(
        {"ProvisionedThroughputExceededException": 3}
    )
    assert report.retried == faults.failed_records + 3 * 500
    # AND it backed off before each retry, within the cap
    assert len(sleeps) >= 3 and all(0 <= s <= 2.0 for s in sleeps)
    assert report.backoff_s == pytest.approx(sum(sleeps))
    assert publisher.report.accepted == len(records)


def test_retries_never_let_a_later_record_of_a_device_overtake_a_failed_one(
    kinesis: Any,
) -> None:
    # GIVEN 40% failures on a stream of 12 devices with many records each
    records = fleet_records(devices=12, rate_hz=5.0, duration_s=20.0)
    inject_put_records_failures(kinesis, failure_rate=0.4, seed=9)
    spy = RecordingClient(kinesis)
    publisher, _ = make_publisher(spy, max_attempts=30, max_records_per_call=40)
    # WHEN they are published
    publisher.publish(entries_for(records))
    # THEN no record went out for the first time while an earlier one of its device was
    # failed and not yet accepted
    sent_before: set[tuple[str, int]] = set()
    failed_pending: set[tuple[str, int]] = set()
    for call in spy.calls:
        sent = [_key_seq(r["Data"]) for r in call.records]
        for device, seq in sent:
            if (device, seq) not in sent_before:
                assert not any(d == device and s < seq for d, s in failed_pending)
        sent_before.update(sent)
        results = call.results or [{"ErrorCode": call.error_code}] * len(sent)
        for identity, result in zip(sent, results, strict=True):
            if "ErrorCode" in result:
                failed_pending.add(identity)
            else:
                failed_pending.discard(identity)
    assert failed_pending == set()
    # AND the stream order of each device only inverts records that went out together
    # in one call where the earlier one failed and the later one was accepted
    allowed = _same_call_inversions(spy)
    for device, seqs in _stream_order(kinesis).items():
        for i, later in enumerate(seqs):
            for earlier in seqs[i + 1:]:
                if earlier < later:
                    assert (device, later, earlier) in allowed


def test_an_exhausted_budget_raises_with_every_unaccepted_record(kinesis: Any) -> None:
    # GIVEN a stream that rejects every record
    entries = entries_for(fleet_records(devices=2, rate_hz=1.0, duration_s=5.0))
    faults = inject_put_records_failures(kinesis, failure_rate=1.0, error_code="InternalFailure")
    publisher, sleeps = make_publisher(kinesis, max_attempts=3)
    # WHEN the records are published
    with pytest.raises(PublishError, match="10 records not accepted") as caught:
        publisher.publish(entries)
    # THEN all of them are on the error, in input order, and none is in the stream
    assert caught.value.unaccepted == entries
    assert "InternalFailure x30" in str(caught.value)
    assert faults.calls == 3 and len(sleeps) == 2
    assert stream_contents(kinesis) == []


def test_records_left_by_an_exhausted_budget_can_be_re_driven_without_loss(
    kinesis: Any,
) -> None:
    # GIVEN a flaky stream and a tight budget, so some records are accepted and some not
    records = fleet_records(devices=8, rate_hz=2.0, duration_s=10.0)
    faults = inject_put_records_failures(kinesis, failure_rate=0.5, seed=5)
    publisher, _ = make_publisher(kinesis, max_attempts=2)
    accepted: list[PutEntry] = []
    with pytest.raises(PublishError) as caught:
        publisher.publish(entries_for(records), on_accepted=accepted.append)
    unaccepted = caught.value.unaccepted
    # WHEN the stream recovers and the unaccepted records are published again
    faults.remove()
    publisher.publish(unaccepted, on_accepted=accepted.append)
    # THEN the error's count was right, and the stream holds every record exactly once
    assert str(caught.value).startswith(f"{len(unaccepted)} records not accepted")
    assert 0 < len(unaccepted) < len(records)
    assert sorted(decoded(stream_contents(kinesis)), key=_identity) == sorted(
        records, key=_identity
    )
    assert len(accepted) == len(records)


def test_throttling_alone_can_exhaust_the_budget(kinesis: Any) -> None:
    # GIVEN a stream that throttles the next 5 calls
    inject_put_records_failures(kinesis, failure_rate=0.0, throttle_calls=5)
    publisher, _ = make_publisher(kinesis, max_attempts=3)
    # WHEN 4 records are published with a budget of 3 attempts
    # THEN the publisher gives up after 3 throttled calls with all 4 records
    with pytest.raises(PublishError, match="4 records not accepted") as caught:
        publisher.publish(blob_entries(4, 10))
    assert caught.value.report.throttled_calls == 3
    assert len(caught.value.unaccepted) == 4


def test_errors_retrying_cannot_fix_are_raised_at_once(kinesis: Any) -> None:
    # GIVEN a publisher for a stream that does not exist
    publisher = KinesisPublisher("no-such-stream", kinesis, sleep=_never_sleep)
    # WHEN it publishes
    # THEN it stops at the first call with a one-line reason and keeps the records
    with pytest.raises(PublishError, match="ResourceNotFoundException") as caught:
        publisher.publish(blob_entries(3, 10))
    assert len(caught.value.unaccepted) == 3
    assert caught.value.report.calls == 1
    assert "\n" not in str(caught.value)


def test_a_stream_arn_works_in_place_of_the_name(kinesis: Any) -> None:
    # GIVEN the stream's ARN
    arn = kinesis.describe_stream_summary(StreamName="telemetry")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    # WHEN a publisher is built with it and publishes
    KinesisPublisher(arn, kinesis).publish(blob_entries(3, 10))
    # THEN the records arrive
    assert len(stream_contents(kinesis)) == 3


def test_full_jitter_backoff_grows_exponentially_up_to_the_cap() -> None:
    # GIVEN the publisher's default backoff policy
    backoff = FullJitterBackoff(0.05, 2.0, random.Random(1))
    # WHEN / THEN ceilings double per attempt and stop at the cap; delays stay below them
    assert [backoff.ceiling(n) for n in range(7)] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
    assert backoff.ceiling(10_000) == 2.0
    assert all(0 <= backoff.delay(n) <= backoff.ceiling(n) for n in range(50))


def test_one_record_per_ordering_key_per_call_keeps_strict_order_under_failures(
    kinesis: Any,
) -> None:
    # GIVEN 12 devices' records ordered by a coarser key (two groups of devices), 40%
    # failures, and at most one record per ordering key in a call
    records = fleet_records(devices=12, rate_hz=2.0, duration_s=10.0)
    entries = [PutEntry(r.device_id, encode(r), r, ordering_key=f"group-{int(r.device_id[-1]) % 2}")
               for r in records]
    inject_put_records_failures(kinesis, failure_rate=0.4, seed=21)
    spy = RecordingClient(kinesis)
    publisher, _ = make_publisher(spy, max_attempts=40)
    # WHEN they are published
    report = publisher.publish(entries, max_per_key_per_call=1)
    # THEN no call carried two records of one ordering key
    for call in spy.calls:
        groups = [int(_key_seq(r["Data"])[0][-1]) % 2 for r in call.records]
        assert len(groups) == len(set(groups))
    # AND every device's records are in the stream once, strictly in seq order
    assert report.accepted == len(records) and report.failed_records > 0
    for seqs in _stream_order(kinesis).values():
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    # AND the cap must be at least one
    with pytest.raises(ValueError, match="max_per_key_per_call"):
        publisher.publish(entries[:1], max_per_key_per_call=0)


def test_records_landing_off_their_expected_shard_are_counted(kinesis: Any) -> None:
    # GIVEN records whose caller predicted shard 0 for all of them (wrong for about half)
    records = fleet_records(devices=10, rate_hz=1.0, duration_s=3.0)
    entries = [PutEntry(r.device_id, encode(r), r, expected_shard_id="shardId-000000000000")
               for r in records]
    spy = RecordingClient(kinesis)
    publisher, _ = make_publisher(spy)
    # WHEN they are published
    report = publisher.publish(entries)
    # THEN the report counts exactly those that landed elsewhere, and accepts them all
    elsewhere = sum(result["ShardId"] != "shardId-000000000000"
                    for call in spy.calls for result in call.results or [])
    assert report.unexpected_shard == elsewhere > 0
    assert report.accepted == report.kinesis_records == len(records)


def test_publisher_arguments_are_validated(kinesis: Any) -> None:
    # GIVEN / WHEN impossible settings / THEN a ValueError at construction time
    with pytest.raises(ValueError, match="max_attempts"):
        KinesisPublisher("telemetry", kinesis, max_attempts=0)
    with pytest.raises(ValueError, match="max_records_per_call"):
        KinesisPublisher("telemetry", kinesis, max_records_per_call=501)


# -- helpers ---------------------------------------------------------------------------


def _identity(record: Any) -> tuple[str, int]:
    return record.device_id, record.seq


def _key_seq(data: bytes) -> tuple[str, int]:
    record = decode(data)
    return record.device_id, record.seq


def _never_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected sleep({seconds})")


def _stream_order(client: Any) -> dict[str, list[int]]:
    """Per device, seqs in stream order (one device lives on one shard)."""
    order: dict[str, list[int]] = defaultdict(list)
    for record in decoded(stream_contents(client)):
        order[record.device_id].append(record.seq)
    return order


def _same_call_inversions(spy: RecordingClient) -> set[tuple[str, int, int]]:
    """(device, later seq accepted, earlier seq failed) pairs that shared a call."""
    allowed = set()
    for call in spy.calls:
        if call.results is None:
            continue
        outcomes = [
            (*_key_seq(r["Data"]), "ErrorCode" not in result)
            for r, result in zip(call.records, call.results, strict=True)
        ]
        for device, seq, ok in outcomes:
            if ok:
                allowed.update(
                    (device, seq, other_seq)
                    for other_device, other_seq, other_ok in outcomes
                    if other_device == device and other_seq < seq and not other_ok
                )
    return allowed
