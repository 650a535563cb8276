"""SNS → SQS delivery in the embedded AWS, authorized as AWS authorizes it.

moto's SNS hands a published message to a subscribed queue in-process, with no check at
all. On AWS the delivery is SNS's own request (principal ``sns.amazonaws.com``, with
``aws:SourceArn`` = the topic and ``aws:SourceAccount`` = its owner), so:

* the **queue policy** must allow that principal ``sqs:SendMessage`` on the queue (an
  identity policy cannot: the caller is the service); an explicit deny wins;
* a queue encrypted with a **customer managed key** needs that key's policy to allow the
  service ``kms:GenerateDataKey*`` and ``kms:Decrypt`` (SSE-SQS and the AWS managed key
  need nothing);
* the **topic's own key** does not take part: SNS decrypts what it stored for delivery,
  so a KMS-encrypted topic delivers to its subscribers like any other.

A refused delivery is dropped (AWS retries and then discards it, logging a delivery
failure) and recorded as a denial. While enforcement is off (``--no-iam``, before
``terraform apply`` finishes) every delivery goes through, as with plain moto.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from shardline.local.iam_policy import Decision, Policy, Principal
from shardline.local.kms_keys import KeyPolicies, resource_key

log = logging.getLogger("shardline.sns_delivery")

# (topic ARN, queue ARN) -> None when SNS may deliver, else the reason it may not.
DeliveryGate = Callable[[str, str], str | None]

# The gates of the embedded AWS instances running in this process, newest last: moto's
# backends are shared by the process, so the newest instance's gate decides, and stopping
# one instance removes only its own gate.
_gates: list[DeliveryGate] = []
_lock = threading.Lock()
_installed = False


def add_gate(gate: DeliveryGate) -> None:
    """Route every SNS → SQS delivery through ``gate`` until it is removed."""
    with _lock:
        _gates.append(gate)


def remove_gate(gate: DeliveryGate) -> None:
    """Stop routing deliveries through ``gate`` (the previous gate, if any, applies)."""
    with _lock:
        if gate in _gates:
            _gates.remove(gate)


def _current_gate() -> DeliveryGate | None:
    with _lock:
        return _gates[-1] if _gates else None


def install() -> None:
    """Patch moto's subscription delivery once per process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.sns.models import Subscription

        original = Subscription.publish

        def publish(self: Any, message: str, message_id: str, *args: Any,
                    **kwargs: Any) -> Any:
            gate = _current_gate()
            if self.protocol == "sqs" and gate is not None:
                refused = gate(self.topic.arn, self.endpoint)
                if refused is not None:
                    log.warning("SNS delivery of %s from %s to %s refused: %s", message_id,
                                self.topic.arn, self.endpoint, refused)
                    return None
            return original(self, message, message_id, *args, **kwargs)

        Subscription.publish = publish
        _installed = True


SNS = Principal.service("sns.amazonaws.com")


def delivery_refusal(topic_arn: str, queue_arn: str,
                     key_policies: KeyPolicies) -> tuple[str, str, str] | None:
    """(action, resource, reason) that stops SNS delivering to the queue, else None."""
    from moto.sqs.models import sqs_backends

    parts = queue_arn.split(":")
    if len(parts) != 6:
        return None
    queue = sqs_backends[parts[4]][parts[3]].queues.get(parts[5])
    if queue is None:
        return None  # moto reports the missing queue itself
    context: dict[str, Any] = {"aws:sourcearn": topic_arn,
                               "aws:sourceaccount": topic_arn.split(":")[4],
                               "aws:securetransport": "true"}
    decision = _queue_policy_decision(queue.policy, queue_arn, context)
    if decision is not Decision.ALLOW:
        return "sqs:SendMessage", queue_arn, f"queue policy: {decision.value}"
    key = resource_key("sqs", queue_arn)
    if key is not None:
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            decision = key_policies.decide_for_service(SNS, action, key, context)
            if decision is not Decision.ALLOW:
                return action, key.arn, f"key policy of the queue's key: {decision.value}"
    return None


def _queue_policy_decision(policy: Any, queue_arn: str, context: dict[str, Any]) -> Decision:
    if not policy:
        return Decision.IMPLICIT_DENY
    document = Policy(policy if isinstance(policy, dict | str) else json.dumps(policy))
    allowed = False
    for statement in document.matching("sqs:SendMessage", queue_arn, context, SNS):
        if statement.deny:
            return Decision.EXPLICIT_DENY
        allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


__all__ = ["DeliveryGate", "add_gate", "delivery_refusal", "install", "remove_gate"]
