"""What the fanout workers promise, end to end on the embedded stack: injected anomalies
raise and resolve alerts exactly once per episode, however often the readings come; the
archive holds every valid record exactly once; a failing worker's events reach its
failure queue and `shardline dlq replay` re-drives them."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import msgspec
from click.testing import CliRunner

from lambdas.shared.telemetry import encode
from producers.anomalies import parse_anomaly
from shardline.cli import main
from shardline.local.stack import LocalStack
from tests.factories.fanout import dispatcher_payload
from tests.integration.fanout_reads import (
    alert_messages,
    archived_lines,
    deployed_rules,
    expected_events,
    fleet,
    publish,
)
from tests.integration.stack_ops import role_arn, until, without_action

SETTLES_S = 60
QUIET_S = 3  # after the expected messages arrived, how long to watch for extra ones


def _collect_alerts(stack: LocalStack, prefix: str, expected: int) -> list[dict[str, Any]]:
    """The prefix's alerts once ``expected`` have arrived, plus any that follow soon."""
    seen: list[dict[str, Any]] = []

    def arrived() -> bool:
        seen.extend(alert_messages(stack, prefix))
        return len(seen) >= expected

    until(arrived, SETTLES_S)
    time.sleep(QUIET_S)
    return seen + alert_messages(stack, prefix)


def test_injected_anomalies_raise_and_resolve_alerts_once_per_episode(
        stack: LocalStack) -> None:
    # GIVEN a fleet with an overheating device (95 °C for 4 s), a device whose battery
    # sags for 1.5 s, and a device whose short spike (1 s) is too brief for "for 3"
    anomalies = tuple(parse_anomaly(text) for text in (
        "dev-00001:temperature_c=95@4+4", "dev-00002:battery_v=3.1@6+1.5",
        "dev-00003:temperature_c=95@3+1"))
    records = fleet("alr", devices=4, seed=61, duration_s=14, anomalies=anomalies)
    expected = expected_events(records, deployed_rules(stack))
    assert {(device, event) for device, _, event in expected} >= {
        ("alr-dev-00001", "raised"), ("alr-dev-00002", "resolved")}  # the drill is real

    # WHEN every reading is put on the stream twice (a producer retrying a whole run)
    publish(stack, records)
    publish(stack, records)

    # THEN each episode was raised once and resolved once, nothing else was published
    alerts = _collect_alerts(stack, "alr", len(expected))
    assert sorted((a["device"], a["rule"], a["event"]) for a in alerts) == sorted(expected)
    assert max(Counter((a["episode_id"], a["event"]) for a in alerts).values()) == 1
    # AND a raised alert carries the readings that opened its episode
    raised = next(a for a in alerts if a["device"] == "alr-dev-00001" and a["event"] == "raised")
    site = next(r.site for r in records if r.device_id == "alr-dev-00001")
    assert (raised["rule"], raised["site"], raised["severity"]) == ("overheat", site, "critical")
    assert [float(value) for value in raised["values"][-3:]] == [95.0] * 3


def test_a_redelivered_alerts_payload_publishes_nothing_new(stack: LocalStack) -> None:
    # GIVEN an episode raised and resolved for a device
    records = fleet("alx", devices=1, seed=67, duration_s=10,
                    anomalies=(parse_anomaly("dev-00001:temperature_c=99@2+3"),))
    expected = expected_events(records, deployed_rules(stack))
    publish(stack, records)
    assert len(_collect_alerts(stack, "alx", len(expected))) == len(expected) == 2
    # WHEN the alerts worker gets all of the device's readings again, newest first
    client = stack.client("lambda")
    response = client.invoke(FunctionName=str(stack.outputs["alerts_function_name"]),
                             Payload=json.dumps(dispatcher_payload(records[::-1])).encode())
    assert "FunctionError" not in response, response["Payload"].read()
    # THEN no alert is published again
    time.sleep(QUIET_S)
    assert alert_messages(stack, "alx") == []


def test_the_archive_holds_every_valid_record_exactly_once(stack: LocalStack) -> None:
    # GIVEN a fleet's readings WHEN they are published
    records = fleet("arc", devices=5, seed=71, duration_s=6)
    publish(stack, records)
    # THEN the archive holds each record's text exactly once, byte for byte
    sent = Counter(encode(r) for r in records)
    assert until(lambda: Counter(archived_lines(stack, "arc")) == sent, SETTLES_S), \
        (len(archived_lines(stack, "arc")), len(records))


def test_a_redelivered_archive_payload_overwrites_its_own_objects(stack: LocalStack) -> None:
    # GIVEN a worker payload of readings spanning two hours
    records = fleet("ard", devices=2, seed=79, duration_s=3)
    records[0] = msgspec.structs.replace(records[0], ts=records[0].ts - 3_600_000)
    # (on a shard id the stream does not have: the stream's own records in the same
    # folder would hold these made-up positions, and the worker would rightly skip them)
    payload = json.dumps(dispatcher_payload(records, shard_id="shardId-000000000999")).encode()
    client = stack.client("lambda")
    archive = str(stack.outputs["archive_function_name"])
    # WHEN the archive worker gets it three times (async invoke is at least once)
    for _ in range(3):
        response = client.invoke(FunctionName=archive, Payload=payload)
        assert "FunctionError" not in response, response["Payload"].read()
    # THEN each record is archived once: the re-deliveries overwrote the same objects
    assert Counter(archived_lines(stack, "ard")) == Counter(encode(r) for r in records)


def test_a_failing_workers_events_are_replayed_from_its_failure_queue(
        stack: LocalStack) -> None:
    # GIVEN the archive worker failing (no s3:PutObject) with no async retries
    client = stack.client("lambda")
    worker = str(stack.outputs["archive_function_name"])
    live = f"{worker}:live"  # the dispatcher invokes the alias: its async settings apply
    before = {key: value for key, value in
              client.get_function_event_invoke_config(FunctionName=live).items()
              if key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")}
    client.put_function_event_invoke_config(FunctionName=live,
                                            **{**before, "MaximumRetryAttempts": 0})
    records = fleet("rpl", devices=2, seed=73, duration_s=3)
    queue_url = stack.outputs["worker_failure_queues"]["archive"]["url"]
    try:
        with without_action(stack, role_arn(stack, "archive_function_name"), "s3:PutObject"):
            # WHEN readings reach it through the dispatcher
            publish(stack, records)
            # THEN its events land in its failure queue and nothing is archived
            assert until(lambda: _queue_depth(stack, queue_url) > 0, SETTLES_S)
            assert archived_lines(stack, "rpl") == []
    finally:
        client.put_function_event_invoke_config(FunctionName=live, **before)
    time.sleep(2)  # later failures of the same batch still on their way
    # WHEN the operator replays the worker's failure queue
    result = CliRunner().invoke(main, ["dlq", "replay", "--worker", "archive", "--yes",
                                       "--endpoint", stack.endpoint_url],
                                env={"SHARDLINE_STATE_DIR": str(stack.dir)})
    assert result.exit_code == 0, result.output
    # THEN every record is archived exactly once and the queue is empty
    sent = Counter(encode(r) for r in records)
    assert until(lambda: Counter(archived_lines(stack, "rpl")) == sent, SETTLES_S)
    assert _queue_depth(stack, queue_url) == 0


def _queue_depth(stack: LocalStack, url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(value) for value in attributes.values())
