"""Builders for the alerts worker's tests: rules, readings of one metric, the state
table, and an SQS queue subscribed to the alerts topic (raw delivery, optional filter)."""

from __future__ import annotations

import json
from typing import Any

from lambdas.shared.telemetry import TelemetryV1
from tests.factories.telemetry import BASE_TS_MS, telemetry_record

OVERHEAT = {"name": "overheat", "metric": "temperature_c", "op": ">", "threshold": 80,
            "for": 3, "severity": "critical"}
LOW_BATTERY = {"name": "low-battery", "metric": "battery_v", "op": "<", "threshold": 3.3,
               "for": 1, "severity": "warning"}
HOT, COLD = 85, 20


def rules_json(*rules: dict[str, Any]) -> str:
    return json.dumps(list(rules or (OVERHEAT, LOW_BATTERY)))


def temperature_series(values: list[float], *, device_id: str = "dev-00001",
                       site: str = "plant-a", first_seq: int = 0,
                       interval_ms: int = 1_000) -> list[TelemetryV1]:
    """One record per value (temperature only), a second apart, consecutive seq."""
    return [telemetry_record(device_id, site=site, ts=BASE_TS_MS + index * interval_ms,
                             seq=first_seq + index, metrics={"temperature_c": value})
            for index, value in enumerate(values)]


def create_alert_state_table(client: Any, name: str) -> str:
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                   {"AttributeName": "SK", "KeyType": "RANGE"}])
    return name


def subscribe_queue(sns: Any, sqs: Any, topic_arn: str, name: str,
                    filter_policy: dict[str, Any] | None = None) -> str:
    """An SQS queue receiving the topic's messages raw (attributes as SQS attributes)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": "true"}
    if filter_policy is not None:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in the queue: {"body": parsed JSON, "attributes": {name: value}}."""
    received = []
    for _ in range(100):  # bounded: a test's queue holds a few dozen messages at most
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        for message in batch:
            received.append({
                "body": json.loads(message["Body"]),
                "attributes": {name: value["StringValue"] for name, value
                               in message.get("MessageAttributes", {}).items()}})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return received


__all__ = ["COLD", "HOT", "LOW_BATTERY", "OVERHEAT", "create_alert_state_table", "drain",
           "rules_json", "subscribe_queue", "temperature_series"]
