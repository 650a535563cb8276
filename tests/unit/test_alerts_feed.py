"""`shardline alerts`: alert messages read from the subscription queue in either shape
(SNS envelope or raw delivery), shown by event time, left in the queue unless --ack."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from shardline.alerts_feed import Alert, AlertsQueue, Unreadable, distinct, parse_alert_message
from shardline.cli import main
from tests.factories.alert_messages import (
    alert_body,
    raw_delivery,
    sns_envelope,
    sns_envelope_text,
    sqs_message,
)
from tests.factories.telemetry import BASE_TS_MS


def test_an_sns_envelope_and_a_raw_delivery_give_the_same_alert() -> None:
    # GIVEN one resolved alert in both shapes
    body = alert_body("resolved", values=[85, 81, 79.5])
    # WHEN parsed
    wrapped, raw = parse_alert_message(sns_envelope(body)), parse_alert_message(
        raw_delivery(body))
    # THEN both are the same alert; the value is the resolving reading's, exactly
    assert isinstance(wrapped, Alert) and isinstance(raw, Alert)
    assert wrapped.as_row() == raw.as_row()
    assert wrapped.as_row() == {
        "time": "2025-11-23T12:13:02.000+00:00", "event": "resolved", "device": "dev-00042",
        "site": "plant-a", "rule": "overheat", "severity": "critical", "value": "79.5",
        "episode": body["episode_id"]}


def test_attributes_fill_fields_the_body_lacks() -> None:
    # GIVEN a body without site and severity, whose attributes carry them
    body = alert_body()
    envelope = json.loads(sns_envelope_text(body))
    message = json.loads(envelope["Message"])
    del message["site"], message["severity"]
    envelope["Message"] = json.dumps(message)
    # WHEN parsed THEN they come from the SNS attributes
    alert = parse_alert_message(sqs_message(json.dumps(envelope)))
    assert isinstance(alert, Alert) and (alert.site, alert.severity) == ("plant-a", "critical")


@pytest.mark.parametrize(("text", "reason"), [
    ("not json", "body is not JSON"),
    (json.dumps([1, 2]), "not a JSON object"),
    (json.dumps({"event": "exploded", "episode_id": "e", "last_ts": 1}), "neither raised"),
    (json.dumps({"event": "raised"}), "no last_ts or episode_id"),
    (json.dumps({"Type": "Notification", "Message": "{broken"}), "Expecting"),
    (json.dumps({**alert_body(), "last_ts": "soon"}), "invalid literal"),
])
def test_a_malformed_message_is_reported_not_fatal(text: str, reason: str) -> None:
    parsed = parse_alert_message(sqs_message(text))
    assert isinstance(parsed, Unreadable) and reason in parsed.reason


def test_alerts_are_ordered_by_event_time_and_duplicates_dropped() -> None:
    # GIVEN a resolve, its raise delivered twice, and an earlier alert of another device
    raised = alert_body("raised", last_ts=BASE_TS_MS + 2_000)
    resolved = alert_body("resolved", last_ts=BASE_TS_MS + 9_000)
    other = alert_body("raised", device="dev-00007", episode_id="dev-00007/overheat/1-0-1",
                       last_ts=BASE_TS_MS + 1_000)
    parsed = [parse_alert_message(raw_delivery(b)) for b in (resolved, raised, raised, other)]
    # WHEN made distinct THEN one per (episode, event), by event time
    shown = distinct(a for a in parsed if isinstance(a, Alert))
    assert [(a.device, a.event) for a in shown] == [
        ("dev-00007", "raised"), ("dev-00042", "raised"), ("dev-00042", "resolved")]
    assert shown[1].value == Decimal("80.000001")


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """An alerts subscription queue in moto, named by the stack outputs."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path))
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="shardline-alerts-feed")["QueueUrl"]
        (tmp_path / "outputs.json").write_text(json.dumps({"alerts_queue_url": url}))
        yield sqs, url


def queued(sqs, url: str) -> int:
    """Messages visible now (a receive would return them)."""
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])


def send(sqs, url: str, message: dict) -> None:
    attributes = message.get("MessageAttributes")
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"],
                     **({"MessageAttributes": attributes} if attributes else {}))


def test_receive_takes_up_to_the_limit_and_release_makes_them_visible(queue) -> None:
    sqs, url = queue
    for index in range(12):
        send(sqs, url, raw_delivery(alert_body(last_ts=BASE_TS_MS + index)))
    feed = AlertsQueue(sqs, url)
    # WHEN 11 are received THEN 11 come back (two receive calls) and one stays visible
    received = feed.receive(limit=11, wait_s=0)
    assert len(received) == 11 and queued(sqs, url) == 1
    # AND released, all 12 are visible again
    feed.release(m["ReceiptHandle"] for m in received)
    assert queued(sqs, url) == 12


def test_the_command_shows_alerts_and_leaves_them_unless_acked(queue) -> None:
    sqs, url = queue
    # GIVEN a raised alert (raw) and its resolve (SNS envelope), and one stray message
    send(sqs, url, sns_envelope(alert_body("resolved", last_ts=BASE_TS_MS + 9_000)))
    send(sqs, url, raw_delivery(alert_body("raised")))
    send(sqs, url, sqs_message("hello"))
    # WHEN listed as JSON THEN both alerts by event time, the stray reported, all left queued
    listed = CliRunner().invoke(main, ["alerts", "--format", "json", "--wait", "0"])
    assert listed.exit_code == 0, listed.output
    assert [row["event"] for row in json.loads(listed.stdout)] == ["raised", "resolved"]
    assert "skipped message" in listed.stderr and "body is not JSON" in listed.stderr
    assert queued(sqs, url) == 3
    # WHEN listed with --ack THEN the alerts are deleted, the stray stays for inspection
    acked = CliRunner().invoke(main, ["alerts", "--ack", "--wait", "0"])
    assert acked.exit_code == 0, acked.output
    assert "dev-00042" in acked.stdout and queued(sqs, url) == 1


def test_an_empty_queue_says_so_in_one_line(queue) -> None:
    result = CliRunner().invoke(main, ["alerts", "--wait", "0"])
    assert result.exit_code == 0
    assert result.output.strip() == "no alerts in the queue (waited 0 s)"


def test_without_a_queue_url_anywhere_the_command_fails_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["alerts"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "pass --queue-url" in result.output
