"""``shardline streams shards``: a stream's shards, their state and lineage."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from click.testing import CliRunner

from shardline.cli import main
from shardline.local.embedded import EmbeddedAws
from tests.unit.test_cli import assert_one_line_error


@pytest.fixture(autouse=True)
def isolated_state(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No local-stack outputs: the commands use the flags given."""
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path / "state"))


def _split_stream(embedded_aws: EmbeddedAws) -> str:
    kinesis = boto3.client("kinesis", endpoint_url=embedded_aws.endpoint_url,
                           region_name="us-east-1")
    name = f"telemetry-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=2)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(2**126))
    return name


def test_shards_show_the_closed_parent_and_its_children(embedded_aws: EmbeddedAws) -> None:
    # GIVEN a 2-shard stream whose first shard was split unevenly (1/4 + 1/4 of the keys)
    name = _split_stream(embedded_aws)

    # WHEN the shards are listed as JSON
    result = CliRunner().invoke(main, ["streams", "shards", "--stream", name, "--format",
                                       "json", "--endpoint", embedded_aws.endpoint_url])

    # THEN the parent is CLOSED, the children name it, and the shares add up
    assert result.exit_code == 0, result.output
    rows = {row["shard"]: row for row in json.loads(result.output)}
    assert rows["shardId-000000000000"]["state"] == "CLOSED"
    assert rows["shardId-000000000000"]["ending_sequence"] != "-"
    children = [rows["shardId-000000000002"], rows["shardId-000000000003"]]
    assert [c["parents"] for c in children] == ["shardId-000000000000"] * 2
    assert [c["state"] for c in children] == ["OPEN", "OPEN"]
    assert [c["hash_share_pct"] for c in children] == [25.0, 25.0]
    assert sum(r["hash_share_pct"] for r in rows.values() if r["state"] == "OPEN") == 100.0


def test_the_table_summary_gives_the_update_shard_count_range(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN a stream with 3 open shards after a split
    name = _split_stream(embedded_aws)

    # WHEN only the open shards are listed as a table
    result = CliRunner().invoke(main, ["streams", "shards", "--stream", name, "--open",
                                       "--endpoint", embedded_aws.endpoint_url])

    # THEN the summary says what UpdateShardCount accepts, and the parent is left out
    assert result.exit_code == 0, result.output
    assert "3 open, 1 closed; UpdateShardCount accepts 2..6" in result.output
    shards = [line.split("│")[1].strip() for line in result.output.splitlines()
              if line.startswith("│")]
    assert shards == ["shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]


def test_a_missing_stream_is_a_one_line_error(embedded_aws: EmbeddedAws) -> None:
    result = CliRunner().invoke(main, ["streams", "shards", "--stream", "nope",
                                       "--endpoint", embedded_aws.endpoint_url])
    assert_one_line_error(result, 3, "not found")
