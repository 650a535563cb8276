"""`shardline archive ls|cat`: the archive worker's objects read back by event hour,
against moto's S3 (the worker writes them, the reader lists and decompresses them)."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from lambdas.archive import config as archive_config
from lambdas.archive import handler as archive_handler
from lambdas.archive import repository
from shardline.archive_reader import (
    ArchiveReader,
    hour_prefix,
    hours_since,
    parse_hour,
    parse_key,
)
from shardline.cli import main
from shardline.errors import ShardlineError
from tests.factories.kinesis import lambda_context
from tests.factories.telemetry import BASE_TS_MS, telemetry_record
from tests.factories.worker_payload import worker_payload

BUCKET = "shardline-archive-reader-test"
HOUR_12 = 1_763_899_200  # 2025-11-23T12:00:00Z; BASE_TS_MS is 12:13
HOUR_MS = 3_600_000


def test_hours_parse_strictly() -> None:
    assert parse_hour("2025-11-23T12") == HOUR_12
    for bad in ("2025-11-23", "2025-11-23T12:00", "2025-1-2T3", "2025-13-01T00",
                "2025-11-23T24", "yesterday"):
        with pytest.raises(ShardlineError, match=f"invalid --hour '{bad}'"):
            parse_hour(bad)


def test_hour_prefix_and_key_follow_the_archive_layout() -> None:
    assert hour_prefix("raw/", HOUR_12) == "raw/dt=2025-11-23/hour=12/"
    key = parse_key("raw/dt=2025-11-23/hour=12/shardId-000000000001/4959-0_4960-3.jsonl.gz")
    assert key is not None and (key.hour, key.shard_id, key.first, key.last) == (
        "2025-11-23T12", "shardId-000000000001", (4959, 0), (4960, 3))
    assert parse_key("raw/dt=2025-11-23/hour=12/notes.txt") is None


def test_since_covers_every_hour_up_to_now_within_a_bound() -> None:
    now = HOUR_12 + 30 * 60  # 12:30
    assert hours_since(2 * 3600, now) == [HOUR_12 - 7200, HOUR_12 - 3600, HOUR_12]
    assert hours_since(60, now) == [HOUR_12]
    with pytest.raises(ShardlineError, match="at most 744"):
        hours_since(40 * 86_400, now)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """An archive bucket filled by the archive worker, named by the stack outputs."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path))
    (tmp_path / "outputs.json").write_text(json.dumps({"archive_bucket_name": BUCKET}))
    archive_config.get_config.cache_clear()
    repository.default_repository.cache_clear()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    archive_config.get_config.cache_clear()
    repository.default_repository.cache_clear()


def archive(records, shard_id: str = "shardId-000000000000", first_index: int = 0) -> None:
    archive_handler.lambda_handler(worker_payload(records, shard_id=shard_id,
                                                  first_index=first_index),
                                   lambda_context("archive"))


def test_listing_and_reading_an_hour(s3) -> None:
    # GIVEN two shards' payloads at 12:xx and one record at 13:xx
    archive([telemetry_record("dev-1", seq=0), telemetry_record("dev-2", seq=0)])
    archive([telemetry_record("dev-1", ts=BASE_TS_MS + 1000, seq=1)],
            shard_id="shardId-000000000001")
    archive([telemetry_record("dev-1", ts=BASE_TS_MS + HOUR_MS, seq=2)], first_index=5)
    reader = ArchiveReader(s3, BUCKET)
    # WHEN the 12:00 hour is listed THEN its two objects, by key, with size and time
    listed = reader.objects([HOUR_12])
    assert [o.key.split("/")[2] for o in listed] == ["shardId-000000000000",
                                                     "shardId-000000000001"]
    assert {o.hour for o in listed} == {"2025-11-23T12"} and all(o.size > 0 for o in listed)
    # AND its lines decompress to the records, filtered by device on request
    lines = [json.loads(line) for line in reader.lines(HOUR_12)]
    assert [(r["device_id"], r["seq"]) for r in lines] == [("dev-1", 0), ("dev-2", 0),
                                                           ("dev-1", 1)]
    assert [json.loads(line)["seq"] for line in reader.lines(HOUR_12, "dev-1")] == [0, 1]
    assert len(reader.objects([HOUR_12, HOUR_12 + 3600])) == 3


def test_the_commands_list_and_cat_an_hour(s3) -> None:
    archive([telemetry_record("dev-1", seq=0), telemetry_record("dev-2", seq=0)])
    # WHEN ls and cat run for the hour
    listed = CliRunner().invoke(main, ["archive", "ls", "--hour", "2025-11-23T12",
                                       "--format", "json"])
    cat = CliRunner().invoke(main, ["archive", "cat", "--hour", "2025-11-23T12",
                                    "--device", "dev-2"])
    # THEN one object, and dev-2's one line, as archived
    assert listed.exit_code == 0, listed.output
    assert [row["hour"] for row in json.loads(listed.stdout)] == ["2025-11-23T12"]
    assert cat.exit_code == 0, cat.output
    assert [json.loads(line)["device_id"] for line in cat.stdout.splitlines()] == ["dev-2"]


def test_an_empty_hour_says_so(s3) -> None:
    result = CliRunner().invoke(main, ["archive", "ls", "--hour", "2025-11-23T03"])
    assert result.exit_code == 0
    assert result.output.strip() == "no archived objects for hour 2025-11-23T03"


@pytest.mark.parametrize(("args", "fragment"), [
    (["archive", "ls", "--hour", "2025-11-23 12"], "invalid --hour '2025-11-23 12'"),
    (["archive", "cat", "--hour", "12"], "invalid --hour '12'"),
    (["archive", "ls", "--hour", "2025-11-23T12", "--since", "2h"], "not both"),
    (["archive", "ls", "--since", "forever"], "invalid duration 'forever'"),
])
def test_bad_arguments_are_one_line_errors(args, fragment, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(main, [*args, "--bucket", BUCKET])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0]


def test_without_a_bucket_anywhere_the_command_fails_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["archive", "ls"])
    assert result.exit_code == 2 and "pass --bucket" in result.output
