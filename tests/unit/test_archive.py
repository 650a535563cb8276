"""Archive worker, in-process against embedded S3 (moto): dispatcher payloads in,
gzipped JSON Lines objects partitioned by event hour out."""

from __future__ import annotations

import gzip
import random

import boto3
import pytest
from moto import mock_aws

from lambdas.archive import config as archive_config
from lambdas.archive import handler as archive_handler
from lambdas.archive import repository
from lambdas.archive.layout import archive_objects, json_line, partition_of, range_of
from lambdas.shared.telemetry import decode, encode
from lambdas.shared.worker_payload import InvalidPayload, WorkerPayload
from tests.factories.kinesis import lambda_context
from tests.factories.telemetry import device_series, telemetry_record
from tests.factories.worker_payload import worker_payload, worker_record

BUCKET = "shardline-archive-test"
HOUR_MS = 3_600_000
TS_12H = 1_763_899_980_000  # 2025-11-23T12:13:00Z


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    archive_config.get_config.cache_clear()
    repository.default_repository.cache_clear()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    archive_config.get_config.cache_clear()
    repository.default_repository.cache_clear()


def invoke(event):
    return archive_handler.lambda_handler(event, lambda_context("archive"))


def stored(client) -> dict[str, bytes]:
    keys = [obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: client.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def lines_of(body: bytes) -> list[bytes]:
    return gzip.decompress(body).splitlines()


def test_records_land_in_the_hour_of_their_event_time(s3):
    # GIVEN one payload whose records span two event hours, out of order
    records = [telemetry_record(ts=TS_12H + 3 * HOUR_MS // 2, seq=2),  # 13:43
               telemetry_record(ts=TS_12H, seq=0), telemetry_record(ts=TS_12H + 1000, seq=1)]
    # WHEN the archive worker runs
    result = invoke(worker_payload(records))
    # THEN one object per hour, each holding exactly that hour's records
    objects = stored(s3)
    assert result == {"archived": 3, "already": 0, "skipped": 0, "objects": 2}
    by_partition = {key.rsplit("/", 2)[0]: body for key, body in objects.items()}
    assert sorted(by_partition) == ["dt=2025-11-23/hour=12", "dt=2025-11-23/hour=13"]
    assert [decode(line).seq for line in lines_of(by_partition["dt=2025-11-23/hour=12"])] \
        == [0, 1]
    assert [decode(line).seq for line in lines_of(by_partition["dt=2025-11-23/hour=13"])] \
        == [2]


def test_key_names_shard_and_first_and_last_positions(s3):
    # GIVEN three records of one hour with sub-sequence numbers
    series = device_series(count=3)
    payload = worker_payload([worker_record(record, index=0, sub=index)
                              for index, record in enumerate(series)])
    first = payload["records"][0]["sequenceNumber"]
    # WHEN archived
    invoke(payload)
    # THEN the key is the partition, the shard and the first/last (sequence, sub-sequence)
    assert list(stored(s3)) == [
        f"dt=2025-11-23/hour=12/shardId-000000000000/{first}-0_{first}-2.jsonl.gz"]


def test_reinvocation_overwrites_the_same_objects_with_the_same_bytes(s3):
    # GIVEN a payload spanning two hours, archived once
    records = device_series(count=6, interval_ms=HOUR_MS // 4)
    payload = worker_payload(records)
    invoke(payload)
    first = stored(s3)
    # WHEN the same payload is delivered again, its records in another order
    shuffled = dict(payload, records=random.Random(7).sample(payload["records"], 6))
    invoke(shuffled)
    # THEN the same keys hold the same bytes; nothing was added
    assert stored(s3) == first
    assert len(first) == 2


def _archived_seqs(client) -> list[int]:
    return sorted(decode(line).seq for body in stored(client).values() for line in lines_of(body))


@pytest.mark.parametrize("regrouping", [
    [(0, 10)],                      # the batch retried whole
    [(0, 5), (5, 10)],              # bisected: each half again
    [(3, 10), (7, 14)],             # from the lowest failed record on, with newer records
    [(2, 4), (0, 14), (9, 12)],     # any mix, including a superset
])
def test_records_re_sent_in_other_payloads_are_archived_once(s3, regrouping):
    # GIVEN a shard's 14 records, of which the dispatcher first handed over 0-9 in two
    # payloads (0-6, 7-9)
    records = [worker_record(record, index=index)
               for index, record in enumerate(device_series(count=14))]
    for start, end in [(0, 7), (7, 10)]:
        invoke(worker_payload(records[start:end]))
    # WHEN its retried batches re-send them grouped otherwise
    for start, end in regrouping:
        invoke(worker_payload(records[start:end]))
    # THEN every record sent is archived exactly once
    sent = {index for start, end in [(0, 10), *regrouping] for index in range(start, end)}
    assert _archived_seqs(s3) == sorted(sent)


def test_a_re_sent_payload_writes_nothing(s3):
    # GIVEN a payload archived WHEN it comes again THEN nothing is written the second time
    payload = worker_payload(device_series(count=4))
    assert invoke(payload)["objects"] == 1
    assert invoke(payload) == {"archived": 0, "already": 4, "skipped": 0, "objects": 0}


def test_key_ranges_read_back_and_other_keys_are_ignored():
    # GIVEN keys as the archive writes them and keys of other forms
    key = "p/dt=2025-11-23/hour=12/shardId-000000000000/4959-0_4961-7.jsonl.gz"
    # THEN the range comes back as positions; anything else is not a range
    assert range_of(key) == ((4959, 0), (4961, 7))
    for other in ("p/dt=2025-11-23/hour=12/shardId-000000000000/notes.txt",
                  "p/x/4959_4961.jsonl.gz", "p/x/a-0_b-1.jsonl.gz"):
        assert range_of(other) is None


def test_gzip_json_lines_round_trip_every_record_exactly(s3):
    # GIVEN records with exact decimals, a boot, and an unknown top-level field
    records = [encode(telemetry_record(seq=1, metrics={"temperature_c": 21.4})),
               b'{"v":1,"device_id":"dev-00002","site":"plant-b","ts":1763899981000,'
               b'"seq":9,"boot":3,"metrics":{"battery_v":3.710000},"fw":"1.2"}',
               encode(telemetry_record(seq=2, metrics={"humidity_pct": -0.000001}))]
    # WHEN archived
    invoke(worker_payload(records))
    # THEN each line is the original record, byte for byte, in stream order
    (body,) = stored(s3).values()
    assert lines_of(body) == records


def test_invalid_records_are_logged_and_skipped(s3):
    # GIVEN a payload with one record that is not telemetry
    payload = worker_payload([telemetry_record(seq=0), b'{"v":1,"device_id":"x"}',
                              telemetry_record(seq=1)])
    # WHEN archived
    result = invoke(payload)
    # THEN the valid records are archived and the invocation succeeds
    assert result == {"archived": 2, "already": 0, "skipped": 1, "objects": 1}
    (body,) = stored(s3).values()
    assert [decode(line).seq for line in lines_of(body)] == [0, 1]


def test_a_malformed_envelope_fails_the_invocation(s3):
    # GIVEN a payload that is not the dispatcher's envelope
    # WHEN / THEN the invocation fails, so Lambda keeps it in the failure destination
    with pytest.raises(InvalidPayload, match="records"):
        invoke({"shardId": "shardId-000000000000", "eventSourceARN": "arn:x"})


def test_kms_key_is_used_when_configured(s3, monkeypatch):
    # GIVEN a KMS key for the archive
    key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("ARCHIVE_KMS_KEY_ARN", key_arn)
    archive_config.get_config.cache_clear()
    repository.default_repository.cache_clear()
    # WHEN a payload is archived
    invoke(worker_payload([telemetry_record()]))
    # THEN the object is encrypted with that key
    (key,) = stored(s3)
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn


def test_layout_is_deterministic_and_hours_are_utc():
    # GIVEN the same records in two orders
    records = device_series(count=5, interval_ms=HOUR_MS // 2)
    payload = WorkerPayload.from_event(worker_payload(records))
    decoded, _ = payload.decoded()
    # WHEN laid out
    forward = archive_objects(payload.shard_id, decoded)
    backward = archive_objects(payload.shard_id, list(reversed(decoded)))
    # THEN keys and bytes are equal, and partitions follow UTC event time
    assert forward == backward
    assert partition_of(1_767_225_599_999) == "dt=2025-12-31/hour=23/"
    assert partition_of(1_767_225_600_000) == "dt=2026-01-01/hour=00/"


def test_a_json_line_never_spans_two_lines():
    # GIVEN a pretty-printed record (newlines as whitespace between tokens)
    data = b'{\n  "v": 1,\r\n  "seq": 3\n}\n'
    # WHEN written as a line / THEN it is one line of the same JSON
    assert json_line(data) == b'{   "v": 1,    "seq": 3 }\n'


@pytest.mark.parametrize(("environ", "problem"), [
    ({}, "ARCHIVE_BUCKET is not set"),
    ({"ARCHIVE_BUCKET": "b", "ARCHIVE_PREFIX": "raw"}, "must end with '/'"),
    ({"ARCHIVE_BUCKET": "b", "ARCHIVE_PREFIX": "/raw/"}, "must end with '/'"),
])
def test_misconfiguration_fails_with_one_line(environ, problem):
    # GIVEN / WHEN a misconfigured archive worker / THEN one line naming the setting
    with pytest.raises(archive_config.ConfigError, match=problem):
        archive_config.ArchiveConfig.from_environ(environ)


def test_prefix_goes_before_the_partition():
    # GIVEN a prefix / WHEN laid out / THEN keys start with it
    decoded, _ = WorkerPayload.from_event(worker_payload([telemetry_record()])).decoded()
    (obj,) = archive_objects("shardId-000000000007", decoded, prefix="raw/telemetry/")
    assert obj.key.startswith("raw/telemetry/dt=2025-11-23/hour=12/shardId-000000000007/")
