"""Alerts worker, in-process against embedded DynamoDB, SNS and SQS (moto): dispatcher
payloads in, one `raised` and one `resolved` per episode out, whatever the delivery."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from lambdas.alerts import config as alerts_config
from lambdas.alerts import handler as alerts_handler
from lambdas.alerts import repository
from lambdas.alerts.handler import AlertsIncomplete, points_by_rule
from lambdas.alerts.process import Services, commit, process_rule
from lambdas.alerts.repository import AlertPublisher, AlertStateRepository
from lambdas.alerts.state import state_key
from lambdas.shared.dynamo import deserialize_item, serialize_item
from lambdas.shared.worker_payload import WorkerPayload
from tests.factories.alerts import (
    COLD,
    HOT,
    LOW_BATTERY,
    OVERHEAT,
    create_alert_state_table,
    drain,
    rules_json,
    subscribe_queue,
    temperature_series,
)
from tests.factories.kinesis import lambda_context
from tests.factories.telemetry import telemetry_record
from tests.factories.worker_payload import worker_payload, worker_record

TABLE = "alert-state"
TOPIC = "alerts"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        clients = {name: session.client(name) for name in ("dynamodb", "sns", "sqs")}
        create_alert_state_table(clients["dynamodb"], TABLE)
        topic_arn = clients["sns"].create_topic(Name=TOPIC)["TopicArn"]
        monkeypatch.setenv("ALERT_RULES", rules_json())
        monkeypatch.setenv("ALERT_STATE_TABLE", TABLE)
        monkeypatch.setenv("ALERTS_TOPIC_ARN", topic_arn)
        reset_caches()
        clients["queue"] = subscribe_queue(clients["sns"], clients["sqs"], topic_arn, "all")
        clients["topic_arn"] = topic_arn
        yield clients
    reset_caches()


def reset_caches():
    alerts_config.get_config.cache_clear()
    repository.default_repository.cache_clear()
    repository.default_publisher.cache_clear()


def invoke(event):
    return alerts_handler.lambda_handler(event, lambda_context("alerts"))


def alerts(aws) -> list[tuple[str, str]]:
    """(event, episode id) of every message received, in order."""
    return [(m["body"]["event"], m["body"]["episode_id"]) for m in drain(aws["sqs"],
                                                                          aws["queue"])]


def one_per_payload(records, order):
    return [worker_payload([records[index]], first_index=index) for index in order]


def test_an_episode_is_raised_once_and_resolved_once(aws):
    # GIVEN three hot readings in a row, more hot ones, then a cold one
    records = temperature_series([COLD, HOT, HOT, HOT, HOT, COLD, COLD])
    # WHEN they arrive in order, one payload each
    for payload in one_per_payload(records, range(len(records))):
        invoke(payload)
    # THEN one raised (at the third hot reading) and one resolved (at the cold one)
    episode = f"dev-00001/overheat/{records[1].ts}-0-1"
    assert alerts(aws) == [("raised", episode), ("resolved", episode)]


def test_devices_are_evaluated_independently_in_one_payload(aws):
    # GIVEN one payload interleaving five devices, each overheating three times in a row
    devices = [f"dev-{n:05d}" for n in range(5)]
    series = [temperature_series([HOT, HOT, HOT], device_id=device) for device in devices]
    records = [record for triple in zip(*series, strict=True) for record in triple]
    # WHEN evaluated
    result = invoke(worker_payload(records))
    # THEN each device raised its own episode, once
    assert result["published"] == 5
    assert sorted(m["attributes"]["device"] for m in drain(aws["sqs"], aws["queue"])) \
        == devices


def test_message_body_and_attributes(aws):
    # GIVEN an episode that opens and closes in one payload
    records = temperature_series([HOT, 81.5, Decimal("80.000001"), 80])
    # WHEN evaluated
    invoke(worker_payload(records))
    # THEN the body carries exact values and event times; attributes allow filtering
    raised, resolved = drain(aws["sqs"], aws["queue"])
    assert raised["attributes"] == {"device": "dev-00001", "site": "plant-a",
                                    "rule": "overheat", "severity": "critical",
                                    "event": "raised"}
    assert raised["body"]["values"] == [85, 81.5, 80.000001]
    assert raised["body"]["threshold"] == 80 and raised["body"]["metric"] == "temperature_c"
    assert raised["body"]["first_ts"] == records[0].ts
    assert raised["body"]["last_event_time"].endswith("Z") or \
        raised["body"]["last_event_time"].endswith("+00:00")
    assert resolved["attributes"]["event"] == "resolved"
    assert resolved["body"]["resolved_by"]["value"] == 80  # 80 > 80 does not hold


def test_subscribers_filter_on_attributes(aws):
    # GIVEN a queue that only takes critical raised alerts
    critical = subscribe_queue(aws["sns"], aws["sqs"], aws["topic_arn"], "critical",
                               {"severity": ["critical"], "event": ["raised"]})
    # WHEN a device overheats and its battery runs low, then both clear
    records = [telemetry_record(seq=i, ts=1_763_899_980_000 + i * 1000,
                                metrics={"temperature_c": t, "battery_v": b})
               for i, (t, b) in enumerate([(HOT, 3.2), (HOT, 3.7), (HOT, 3.7), (COLD, 3.7)])]
    invoke(worker_payload(records))
    # THEN the filtered queue got only the overheat raise; the other queue got all four
    assert [(m["body"]["rule"], m["attributes"]["event"])
            for m in drain(aws["sqs"], critical)] == [("overheat", "raised")]
    assert Counter((m["body"]["rule"], m["body"]["event"])
                   for m in drain(aws["sqs"], aws["queue"])) == Counter({
        ("overheat", "raised"): 1, ("overheat", "resolved"): 1,
        ("low-battery", "raised"): 1, ("low-battery", "resolved"): 1})


@pytest.mark.parametrize("seed", range(6))
def test_duplicated_and_shuffled_delivery_gives_the_same_alerts(aws, seed):
    # GIVEN a series with two episodes (every hot stretch long enough to qualify)
    values = [COLD] * 3 + [HOT] * 4 + [COLD] * 2 + [HOT] * 3 + [COLD]
    records = temperature_series(values)
    order = list(range(len(records))) * 2  # every payload delivered twice
    random.Random(seed).shuffle(order)
    # WHEN they arrive one payload at a time in that order
    for payload in one_per_payload(records, order):
        invoke(payload)
    # THEN, as in order: two episodes, each raised once and then resolved once
    received = alerts(aws)
    assert Counter(event for event, _ in received) == {"raised": 2, "resolved": 2}
    for episode in {episode for _, episode in received}:
        assert [event for event, ep in received if ep == episode] == ["raised", "resolved"]


def test_a_late_reading_completes_a_run(aws):
    # GIVEN hot readings 1, 3 and 4 of a device, and a cold one at 5: no three in a row
    records = temperature_series([COLD, HOT, HOT, HOT, HOT, COLD])
    for payload in one_per_payload(records, [0, 1, 3, 5]):
        invoke(payload)
    assert alerts(aws) == []
    # WHEN reading 2 arrives late / THEN the run 1-3 qualifies, and 5 already ended it
    invoke(one_per_payload(records, [2])[0])
    episode = f"dev-00001/overheat/{records[1].ts}-0-1"
    assert alerts(aws) == [("raised", episode), ("resolved", episode)]
    # AND reading 4, later still, extends the same episode: nothing more
    invoke(one_per_payload(records, [4])[0])
    assert alerts(aws) == []


def test_a_late_reading_that_splits_a_raised_run_resolves_it(aws):
    # GIVEN a raised episode over readings 1, 3, 4 (reading 2, cold, not yet arrived)
    records = temperature_series([COLD, HOT, COLD, HOT, HOT])
    for payload in one_per_payload(records, [0, 1, 3, 4]):
        invoke(payload)
    (raised,) = alerts(aws)
    # WHEN the cold reading 2 arrives: the run is split below `for`
    invoke(one_per_payload(records, [2])[0])
    # THEN the alert is not retracted: the episode is resolved at the late reading
    assert alerts(aws) == [("resolved", raised[1])]


def test_a_reading_beyond_the_horizon_is_ignored(aws, monkeypatch):
    # GIVEN a full window (6 readings for a rule with for=3 and ALERT_WINDOW=4) of cold
    monkeypatch.setenv("ALERT_WINDOW", "4")
    reset_caches()
    records = temperature_series([HOT, HOT, HOT] + [COLD] * 6)
    invoke(worker_payload(records[3:], first_index=3))
    # WHEN three hot readings older than all of them arrive
    result = invoke(worker_payload(records[:3]))
    # THEN they are counted as beyond the horizon and raise nothing
    assert result["beyond_horizon"] == 3
    assert alerts(aws) == []


def test_a_payload_reads_the_states_of_its_devices_in_one_batch(aws):
    # GIVEN a payload of five devices, two readings each, and a count of the state reads
    devices = [f"dev-{n:05d}" for n in range(5)]
    records = [record for device in devices
               for record in temperature_series([HOT, COLD], device_id=device)]
    calls: Counter[str] = Counter()
    client = repository.default_repository().client
    for operation in ("BatchGetItem", "GetItem", "PutItem"):
        client.meta.events.register(f"before-call.dynamodb.{operation}",
                                    lambda model, **_: calls.update([model.name]))
    # WHEN it is evaluated, then evaluated again (a re-delivery)
    invoke(worker_payload(records))
    invoke(worker_payload(records))
    # THEN each evaluation read every (device, rule) state in one BatchGetItem, and only
    # the first wrote them (one PutItem each)
    assert calls == {"BatchGetItem": 2, "PutItem": len(devices)}


@pytest.mark.parametrize("read_before", [False, True], ids=["read-in-commit", "batch-read"])
def test_racing_invocations_publish_once(aws, read_before):
    # GIVEN two hot readings stored, and two invocations each bringing one more
    records = temperature_series([HOT, HOT, HOT, HOT])
    invoke(worker_payload(records[:2]))
    payload_b = worker_payload([records[3]], first_index=3)
    config = alerts_config.get_config()
    rule = config.rules[0]

    class Interleaved(AlertStateRepository):
        """Runs invocation B between A's read and A's conditional write."""

        raced = False

        def save(self, *args, **kwargs):
            if not self.raced:
                self.raced = True
                invoke(payload_b)
            return super().save(*args, **kwargs)

    services = Services(repository=Interleaved(TABLE), publisher=AlertPublisher(
        aws["topic_arn"]), config=config, token="invocation-a", now_s=1_763_900_000.0)
    decoded, _ = WorkerPayload.from_event(worker_payload([records[2]], first_index=2)).decoded()
    # (A read its state before evaluating, as a payload's batch read does, or in commit)
    read = (services.repository.load_many([("dev-00001", rule)])[("dev-00001", rule.name)]
            if read_before else None)
    # WHEN A evaluates (raise!), B raises and publishes first, then A writes
    outcome = process_rule(services, rule, "dev-00001",
                           points_by_rule(decoded, (rule,))[("dev-00001", rule)], read)
    # THEN A's write conflicted, it re-evaluated, and the episode was raised once
    assert outcome.conflicts == 1 and outcome.published == []
    assert [event for event, _ in alerts(aws)] == ["raised"]


def test_a_failed_publish_is_retried_and_published_once(aws):
    # GIVEN the topic is unavailable
    aws["sns"].delete_topic(TopicArn=aws["topic_arn"])
    payload = worker_payload(temperature_series([HOT, HOT, HOT]))
    # WHEN the payload is evaluated / THEN the invocation fails so Lambda retries it
    with pytest.raises(AlertsIncomplete):
        invoke(payload)
    item = deserialize_item(aws["dynamodb"].get_item(
        TableName=TABLE, Key=serialize_item(state_key("dev-00001", "overheat")))["Item"])
    (entry,) = item["outbox"].values()
    assert entry["claim"] == ""  # released for the retry
    # WHEN the topic is back and Lambda retries the payload, twice
    arn = aws["sns"].create_topic(Name=TOPIC)["TopicArn"]
    queue = subscribe_queue(aws["sns"], aws["sqs"], arn, "after")
    invoke(payload)
    invoke(payload)
    # THEN the alert was published exactly once
    assert [m["body"]["event"] for m in drain(aws["sqs"], queue)] == ["raised"]


def test_a_crash_after_publishing_can_duplicate_once_the_claim_expires(aws):
    # GIVEN an invocation that claimed and published a message, then died before removing
    # it from the outbox (the documented at-least-once window)
    config = alerts_config.get_config()
    rule = config.rules[0]
    decoded, _ = WorkerPayload.from_event(
        worker_payload(temperature_series([HOT, HOT, HOT]))).decoded()
    points = points_by_rule(decoded, (rule,))[("dev-00001", rule)]
    repo, publisher = AlertStateRepository(TABLE), AlertPublisher(aws["topic_arn"])
    crashed = Services(repo, publisher, config, "crashed", now_s=1_763_900_000.0)
    _, claimed = commit(crashed, rule, "dev-00001", points)
    publisher.publish(claimed[0])
    # WHEN another invocation runs before the claim expires, then after
    before = Services(repo, publisher, config, "early", now_s=1_763_900_000.0 + 1)
    after = Services(repo, publisher, config, "late",
                     now_s=1_763_900_000.0 + config.claim_seconds + 1)
    assert process_rule(before, rule, "dev-00001", points).published == []
    republished = process_rule(after, rule, "dev-00001", points).published
    # THEN only the expired claim lets it be published again (same id, same body)
    assert republished == [claimed[0].message_id]
    first, second = drain(aws["sqs"], aws["queue"])
    assert first == second


def test_invalid_records_are_skipped(aws):
    # GIVEN a payload with a record that is not telemetry
    payload = worker_payload([worker_record(b'{"v":2}', index=0),
                              *[worker_record(r, index=i + 1)
                                for i, r in enumerate(temperature_series([HOT] * 3))]])
    # WHEN evaluated / THEN it is skipped and the rest still raise
    assert invoke(payload)["skipped"] == 1
    assert [event for event, _ in alerts(aws)] == ["raised"]


@pytest.mark.parametrize(("rules", "problem"), [
    ('[{"name": "x", "metric": "t", "op": "=>", "threshold": 1}]', "op must be one of"),
    ('[{"name": "x", "metric": "t", "op": ">", "threshold": "1"}]', "threshold must be"),
    ('[{"name": "x", "metric": "t", "op": ">", "threshold": 1, "for": 0}]', "for must be"),
    ('[{"name": "x", "metric": "t", "op": ">", "threshold": 1, "when": 2}]', "unknown field"),
    ('[{"name": "x", "metric": "T", "op": ">", "threshold": 1}]', "metric is missing"),
    ('[{"name": "x", "metric": "t", "op": ">", "threshold": 1},'
     ' {"name": "x", "metric": "u", "op": "<", "threshold": 1}]', "used twice"),
    ("[]", "non-empty JSON list"),
    ("{not json", "not JSON"),
])
def test_invalid_rules_fail_with_one_line(rules, problem):
    # GIVEN / WHEN a misconfigured ALERT_RULES / THEN one line naming the problem
    with pytest.raises(alerts_config.ConfigError, match=problem) as caught:
        alerts_config.AlertsConfig.from_environ({
            "ALERT_RULES": rules, "ALERT_STATE_TABLE": "t", "ALERTS_TOPIC_ARN": "arn:x"})
    assert "\n" not in str(caught.value)


def test_thresholds_are_exact_decimals():
    # GIVEN the example rules
    overheat, low = alerts_config.parse_rules(rules_json(OVERHEAT, LOW_BATTERY))
    # THEN they compare the JSON text's Decimal, not a float
    assert low.threshold == Decimal("3.3") and not low.holds(Decimal("3.3"))
    assert low.holds(Decimal("3.299999"))
    assert overheat.holds(Decimal("80.000001")) and not overheat.holds(Decimal(80))
