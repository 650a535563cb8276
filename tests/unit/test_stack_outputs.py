"""Default resource names come from the local stack's Terraform outputs; the
default-prefix name is the fallback; no name at all is a one-line error."""

from __future__ import annotations

import json

import pytest

from shardline.cli import main
from shardline.errors import ShardlineError
from shardline.failure_queues import (
    all_failure_queues,
    stream_failure_queue,
    worker_failure_queue,
)
from shardline.stack_outputs import StackOutputs, resolve

OUTPUTS = {
    "quarantine_table_name": "dev-quarantine",
    "failure_queue_url": "http://127.0.0.1:4566/123456789012/dev-stream-failures",
    "scheduled_rollup_function_name": None,  # a module not deployed
    "worker_failure_queues": {
        "device_state": {"name": "dev-device-state-failures",
                         "url": "http://127.0.0.1:4566/123456789012/dev-device-state-failures",
                         "arn": "arn:aws:sqs:us-east-1:123456789012:dev-device-state-failures"}},
}


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """An empty local-stack state folder of the test's own."""
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path))
    return tmp_path


def write_outputs(state, outputs) -> None:
    (state / "outputs.json").write_text(json.dumps(outputs))


def test_a_name_comes_from_the_outputs_else_the_fallback(state) -> None:
    # GIVEN a stack whose outputs name the quarantine table and omit the rollup function
    write_outputs(state, OUTPUTS)
    outputs = StackOutputs.load()
    # WHEN names are asked THEN the output wins, a null output falls back
    assert outputs.name("quarantine_table_name", flag="--table",
                        fallback="shardline-quarantine") == "dev-quarantine"
    assert outputs.name("scheduled_rollup_function_name", flag="--function",
                        fallback="shardline-scheduled-rollup") == "shardline-scheduled-rollup"
    # AND a name given on the command line wins over both
    assert resolve("mine", "quarantine_table_name", flag="--table", outputs=outputs) == "mine"


def test_without_a_stack_the_fallback_applies(state) -> None:
    # GIVEN no outputs file WHEN a name with a fallback is asked THEN the fallback
    outputs = StackOutputs.load()
    assert outputs.source is None
    assert resolve(None, "quarantine_table_name", flag="--table",
                   fallback="shardline-quarantine") == "shardline-quarantine"


def test_a_required_name_with_neither_is_a_one_line_error(state) -> None:
    # GIVEN no stack WHEN a resource with no fallback is needed THEN the error names the flag
    with pytest.raises(ShardlineError, match=r"no local stack outputs .*pass --bucket"):
        StackOutputs.load().name("archive_bucket_name", flag="--bucket")
    # AND with a stack lacking that output, the error says which file lacks it
    write_outputs(state, OUTPUTS)
    with pytest.raises(ShardlineError, match=r"outputs\.json\) have no archive_bucket_name"):
        StackOutputs.load().name("archive_bucket_name", flag="--bucket")


def test_an_unreadable_outputs_file_is_an_error_not_a_silent_fallback(state) -> None:
    (state / "outputs.json").write_text("{not json")
    with pytest.raises(ShardlineError, match="cannot read the stack outputs"):
        StackOutputs.load()


def test_failure_queues_from_the_outputs_and_their_fallbacks(state) -> None:
    # GIVEN no stack THEN the default-prefix names
    bare = StackOutputs.load()
    assert stream_failure_queue(bare) == "shardline-stream-failures"
    assert worker_failure_queue(bare, "device_state") == "shardline-device-state-failures"
    # GIVEN a stack THEN its queue names, and an unknown worker is refused
    write_outputs(state, OUTPUTS)
    outputs = StackOutputs.load()
    assert stream_failure_queue(outputs) == "dev-stream-failures"
    assert [(q.kind, q.name) for q in all_failure_queues(outputs)] == [
        ("stream", "dev-stream-failures"), ("device_state", "dev-device-state-failures")]
    with pytest.raises(ShardlineError, match=r"unknown worker 'alerts'.*device_state"):
        worker_failure_queue(outputs, "alerts")


@pytest.mark.parametrize(("command", "flag", "output"), [
    (("quarantine", "list"), "--table", "quarantine_table_name"),
    (("query",), "--table", "aggregates_table_name"),
    (("simulate",), "--stream", "stream_name"),
    (("dlq", "list"), "--queue", "failure_queue_url"),
    (("archive", "ls"), "--bucket", "archive_bucket_name"),
    (("alerts",), "--queue-url", "alerts_queue_url"),
])
def test_help_says_where_defaults_come_from(command, flag, output) -> None:
    node = main
    for name in command:
        node = node.commands[name]  # type: ignore[attr-defined]
    option = next(p for p in node.params if flag in p.opts)
    assert output in option.help
