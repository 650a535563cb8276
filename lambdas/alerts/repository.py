"""Data access of the alerts worker: the rule-state items (conditional on ``version``)
and the SNS topic.

Clients are created on first use and reused by later invocations of the execution
environment; no endpoint is configured here (boto3 reads ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import boto3
from botocore.exceptions import ClientError

from lambdas.alerts.config import Rule, get_config
from lambdas.alerts.episodes import Message
from lambdas.alerts.state import StoredState, from_item, state_key, to_item
from lambdas.shared.dynamo import TableAccess, batch_get, deserialize_item, serialize_item


class StateConflict(RuntimeError):
    """Another invocation changed the item since it was read (its version moved on)."""


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class AlertStateRepository(TableAccess):
    """Rule-state items: strongly consistent reads, whole-item puts conditional on the
    version read, and the outbox's claim updates."""

    def load(self, device_id: str, rule: Rule) -> StoredState:
        response = self.client.get_item(TableName=self.table_name,
                                        Key=serialize_item(state_key(device_id, rule.name)),
                                        ConsistentRead=True)
        item = response.get("Item")
        return from_item(deserialize_item(item)) if item else StoredState()

    def load_many(self, pairs: Iterable[tuple[str, Rule]]) -> dict[tuple[str, str], StoredState]:
        """The states of (device, rule) ``pairs`` by (device, rule name), strongly
        consistent, in one BatchGetItem per 100 pairs (a pair with no item yet: a fresh
        state); ``BatchGetError`` when some could not be read."""
        keys = {(device_id, rule.name): state_key(device_id, rule.name)
                for device_id, rule in pairs}
        found = batch_get(self.client, self.table_name, keys.values(), consistent_read=True)
        return {pair: from_item(item) if (item := found.get((key["PK"], key["SK"])))
                else StoredState() for pair, key in keys.items()}

    def save(self, device_id: str, rule: Rule, stored: StoredState, *, read_version: int,
             now_s: float) -> None:
        """Put ``stored`` (its version must be ``read_version + 1``); ``StateConflict``
        when the item is no longer at ``read_version``."""
        item = to_item(device_id, rule.name, rule.metric, stored, now_s)
        if read_version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
        else:
            condition = {"ConditionExpression": "version = :read",
                         "ExpressionAttributeValues": {":read": {"N": str(read_version)}}}
        try:
            self.client.put_item(TableName=self.table_name, Item=serialize_item(item),
                                 **condition)
        except ClientError as exc:
            if _conditional_failed(exc):
                raise StateConflict(f"{device_id}/{rule.name} moved past version "
                                    f"{read_version}") from None
            raise

    def settle(self, device_id: str, rule: Rule, message_id: str, token: str, *,
               published: bool) -> bool:
        """Remove the published entry (``published``) or release its claim; only while
        ``token`` holds it. Bumps the version, so a writer holding an older read retries.
        False when the claim was lost (expired and taken by another invocation)."""
        if published:
            update = "REMOVE outbox.#m SET version = version + :one"
            values: dict[str, Any] = {}
        else:
            update = ("SET outbox.#m.claim = :nobody, outbox.#m.claimed_until = :zero, "
                      "version = version + :one")
            values = {":nobody": {"S": ""}, ":zero": {"N": "0"}}
        try:
            self.client.update_item(
                TableName=self.table_name, Key=serialize_item(state_key(device_id, rule.name)),
                UpdateExpression=update, ConditionExpression="outbox.#m.claim = :token",
                ExpressionAttributeNames={"#m": message_id},
                ExpressionAttributeValues={":token": {"S": token}, ":one": {"N": "1"},
                                           **values})
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True


class AlertPublisher:
    """Publishes alert messages to the topic, attributes as SNS String attributes."""

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("sns")
        return self._client

    def publish(self, message: Message) -> str:
        response = self.client.publish(
            TopicArn=self.topic_arn, Message=message.body,
            MessageAttributes={name: {"DataType": "String", "StringValue": value}
                               for name, value in message.attributes.items()})
        return response["MessageId"]


@functools.cache
def default_repository() -> AlertStateRepository:
    config = get_config()
    return AlertStateRepository(config.state_table, max_workers=config.max_workers)


@functools.cache
def default_publisher() -> AlertPublisher:
    return AlertPublisher(get_config().topic_arn)


__all__ = ["AlertPublisher", "AlertStateRepository", "StateConflict", "default_publisher",
           "default_repository"]
