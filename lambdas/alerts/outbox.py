"""The outbox of alert messages: how each is published once (pure: no AWS).

A decision (``episodes.py``) and its message are recorded in the rule's state item by
the same conditional write, *before* anything is published. The write also claims the
message for the invocation that made it (a random token and a deadline). Only the
claimant publishes; after SNS accepts the message, it removes the entry with a write
conditional on still holding the claim. So two invocations racing on one device and
rule cannot both publish: one of their state writes fails its version check, and the
loser re-reads a state in which the decision is made and claimed by the winner.

Failure modes, and the trade-off chosen (at least once, duplicates only on a crash):

* the publish fails (SNS error, throttling): the claim is released and the invocation
  fails, so Lambda retries the payload; the retry re-evaluates to the same state, finds
  the entry unclaimed, claims and publishes it. If every retry fails, the entry stays in
  the item and is published by the next invocation that touches this device and rule;
* the invocation dies between SNS accepting the message and the entry's removal (timeout,
  crash): once the claim expires (``ALERT_CLAIM_SECONDS``, above the function timeout)
  another invocation publishes it again — a duplicate, with the same body and the same
  ``episode_id``/``event``, which a subscriber can drop. Standard SNS topics have no
  deduplication; the alternative (remove, then publish) would lose the alert instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lambdas.alerts.episodes import Message


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    message: Message
    claim: str = ""  # token of the invocation allowed to publish it ("" = nobody)
    claimed_until: int = 0  # epoch seconds

    def claimable(self, now_s: float) -> bool:
        return not self.claim or self.claimed_until <= now_s


Outbox = dict[str, OutboxEntry]  # by message id


def add_messages(outbox: Outbox, messages: list[Message]) -> Outbox:
    """The outbox with the new decisions' messages (a message id already there is kept:
    its body was fixed when first decided)."""
    updated = dict(outbox)
    for message in messages:
        updated.setdefault(message.message_id, OutboxEntry(message))
    return updated


def claim_due(outbox: Outbox, token: str, now_s: float,
              claim_seconds: int) -> tuple[Outbox, list[Message]]:
    """Claim every entry nobody holds (or whose claim expired) for ``token``; the claimed
    messages in publish order."""
    updated = dict(outbox)
    claimed = []
    for message_id, entry in outbox.items():
        if entry.claimable(now_s):
            updated[message_id] = replace(entry, claim=token,
                                          claimed_until=int(now_s) + claim_seconds)
            claimed.append(entry.message)
    claimed.sort(key=lambda message: message.order)
    return updated, claimed


__all__ = ["Outbox", "OutboxEntry", "add_messages", "claim_due"]
