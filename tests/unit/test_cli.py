"""The command line: every mistake a user can make gives one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import socket

import pytest
from click.testing import CliRunner, Result

from shardline.cli import main
from shardline.local.embedded import EmbeddedAws


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_one_line_error(result: Result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def isolated_state(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Each test sees an empty local-stack state folder of its own."""
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path / "state"))



def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("local", "simulate", "query", "package", "demo", "quarantine", "dlq",
                    "devices", "rollup", "alerts", "archive", "mappings"):
        assert command in result.output


def test_bad_duration_is_a_one_line_error() -> None:
    result = run("query", "--device", "dev-00001", "--metric", "temperature_c",
                 "--since", "fifteen", "--endpoint", "http://127.0.0.1:9")
    assert_one_line_error(result, 2, "invalid since 'fifteen'")


def test_malformed_endpoint_is_a_one_line_error() -> None:
    result = run("simulate", "--endpoint", "localhost:4566", "--duration", "1")
    assert_one_line_error(result, 2, "invalid endpoint 'localhost:4566'")


def test_unreachable_endpoint_is_a_one_line_error() -> None:
    port = _free_port()  # nothing listens there
    result = run("query", "--device", "dev-00001", "--metric", "temperature_c",
                 "--table", "aggregates", "--endpoint", f"http://127.0.0.1:{port}")
    assert_one_line_error(result, 3, f"cannot reach http://127.0.0.1:{port}")


def test_missing_stream_is_a_one_line_error(embedded_aws: EmbeddedAws) -> None:
    result = run("simulate", "--endpoint", embedded_aws.endpoint_url, "--stream", "nope",
                 "--duration", "1", "--devices", "1")
    assert_one_line_error(result, 3, "not found")


def test_missing_table_is_a_one_line_error(embedded_aws: EmbeddedAws) -> None:
    result = run("query", "--device", "dev-00001", "--metric", "temperature_c",
                 "--endpoint", embedded_aws.endpoint_url, "--table", "nope")
    assert_one_line_error(result, 3, "not found")


@pytest.mark.parametrize("anomaly, fragment", [
    ("dev-00001:temperature_c", "is not of the form DEVICE:METRIC=VALUE@START+DURATION"),
    ("dev-00009:temperature_c=95@1+2", "anomaly device dev-00009 is not in the fleet"),
])
def test_a_bad_anomaly_is_a_one_line_error(anomaly: str, fragment: str) -> None:
    # GIVEN a 2-device fleet WHEN an anomaly is malformed or names another device
    result = run("simulate", "--devices", "2", "--anomaly", anomaly,
                 "--endpoint", "http://127.0.0.1:9")
    # THEN one line says what is wrong, before anything is sent
    assert_one_line_error(result, 2, fragment)


def test_out_of_range_flag_is_rejected_by_click() -> None:
    result = run("simulate", "--devices", "0")
    assert result.exit_code == 2
    assert "--devices" in result.output


def test_local_up_on_a_taken_port_is_a_one_line_error(tmp_path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run("local", "up", "--port", str(port))
    assert_one_line_error(result, 2, f"port {port} on 127.0.0.1 is already in use")


def test_local_down_without_a_stack_says_so() -> None:
    result = run("local", "down")
    assert result.exit_code == 0
    assert "no local stack is running" in result.output


def test_local_up_refuses_when_a_stack_is_already_up(tmp_path) -> None:
    # GIVEN a stack file naming a live process (this one)
    state = tmp_path / "state"
    state.mkdir()
    (state / "stack.json").write_text(json.dumps(
        {"pid": os.getpid(), "endpoint_url": "http://127.0.0.1:4566"}))
    # WHEN another stack is started THEN it is refused, and `down` will not kill itself
    assert_one_line_error(run("local", "up"), 2, "a local stack is already up")
    assert_one_line_error(run("local", "down"), 2, "runs in this very process")


def test_query_renders_csv_and_json_of_the_same_rows() -> None:
    from shardline.cli import render_rows

    rows = [{"minute": "2026-11-23T10:00", "count": 3, "mean": 1.5, "min": 1.0, "max": 2.0}]
    assert render_rows(rows, "csv").splitlines() == ["minute,count,mean,min,max",
                                                    "2026-11-23T10:00,3,1.5,1.0,2.0"]
    assert json.loads(render_rows(rows, "json")) == rows
    assert "2026-11-23T10:00" in render_rows(rows, "table")


def test_local_status_without_a_stack_is_a_one_line_error() -> None:
    assert_one_line_error(run("local", "status"), 2, "no local stack status")


def test_local_alarms_without_a_stack_is_a_one_line_error() -> None:
    assert_one_line_error(run("local", "alarms"), 2, "no local stack is up")


def test_local_status_renders_a_fresh_snapshot_and_refuses_a_stale_one(tmp_path) -> None:
    import time

    from shardline.local.status import write_status

    # GIVEN a snapshot as a running stack writes it
    consumer = {"mapping": "u", "function": "shardline-aggregator",
                "source": "arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry",
                "shard": "shardId-000000000000", "checkpoint": "4960", "buffered": 3,
                "iterator_age_s": 1.5, "invocations": 7, "errors": 1, "retries": 1,
                "window_start": None, "last_poll_at": None}
    status = {"written_at": time.time(), "pid": 1, "consumers": [consumer],
              "invocations_by_outcome": {"ok": 6, "error": 1}}
    write_status(tmp_path / "state", status)
    # WHEN status is asked THEN the table shows the shard's counters
    result = run("local", "status")
    assert result.exit_code == 0, result.output
    assert "shardId-000000000000" in result.output
    assert "invocations: error 1, ok 6" in result.output
    # AND a snapshot nobody refreshed is reported as a stopped stack
    write_status(tmp_path / "state", {**status, "written_at": time.time() - 60})
    assert_one_line_error(run("local", "status"), 2, "not running")
