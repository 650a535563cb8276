"""The calls an SQS consumer makes on its queue: receive, delete, make visible again.

Receives never block (``WaitTimeSeconds`` 0: the driver polls again instead of long
polling). With ``virtual_visibility`` a receive holds the messages for ``VIRTUAL_HOLD_S``
of real time, so that only the consumer, on its own clock, makes them visible again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shardline.local.destinations import queue_url
from shardline.local.sqs_mapping import SqsMapping
from shardline.local.sqs_records import QueueMessage

log = logging.getLogger("shardline.engine")

RECEIVE_LIMIT = 10  # ReceiveMessage and the *Batch APIs take at most 10 entries
VIRTUAL_HOLD_S = 3600


@dataclass
class SqsQueue:
    """One mapping's queue, reached through the mapping role's SQS client."""

    sqs: Any
    mapping: SqsMapping
    virtual_visibility: bool = False
    _url: str | None = None

    def url(self) -> str:
        if self._url is None:
            self._url = queue_url(self.sqs, self.mapping.account, self.mapping.queue_name)
        return self._url

    def forget_url(self) -> None:
        """The queue was deleted: look its URL up again next time (it may be recreated)."""
        self._url = None

    def visibility_timeout_s(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url(), AttributeNames=["VisibilityTimeout"])["Attributes"]
        return int(attributes["VisibilityTimeout"])

    def receive(self, count: int) -> list[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "QueueUrl": self.url(), "MaxNumberOfMessages": count,
            # Never block the driver: polls are repeated instead of long polling.
            "WaitTimeSeconds": 0,
            "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"],
        }
        if self.virtual_visibility:
            arguments["VisibilityTimeout"] = VIRTUAL_HOLD_S
        return list(self.sqs.receive_message(**arguments).get("Messages", []))

    def delete(self, messages: list[QueueMessage]) -> None:
        for chunk in _chunks(messages, RECEIVE_LIMIT):
            response = self.sqs.delete_message_batch(QueueUrl=self.url(), Entries=[
                {"Id": str(i), "ReceiptHandle": m.receipt_handle}
                for i, m in enumerate(chunk)])
            for failure in response.get("Failed", []):
                log.error("could not delete message %s: %s",
                          chunk[int(failure["Id"])].message_id, failure.get("Message"),
                          extra={"queue": self.mapping.source_arn})

    def make_visible(self, messages: list[QueueMessage]) -> None:
        """Make the messages receivable again at once (VisibilityTimeout 0)."""
        for chunk in _chunks(messages, RECEIVE_LIMIT):
            # A handle the handler deleted, or moto redrove, fails here: nothing to do.
            self.sqs.change_message_visibility_batch(QueueUrl=self.url(), Entries=[
                {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)])


def _chunks(items: list[QueueMessage], size: int) -> Iterable[list[QueueMessage]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
