"""One device and rule, end to end: read the state, evaluate, write it back conditionally
(claiming the messages due), then publish what this invocation claimed.

The read-evaluate-write loop is optimistic concurrency on the item's ``version``: a
conflicting write by a concurrent invocation makes this one re-read and re-evaluate with
its readings merged into the newer state, up to ``ALERT_MAX_ATTEMPTS`` times. Evaluation
is deterministic and idempotent, so a re-delivered payload changes nothing and writes
nothing (unless messages of earlier invocations are due for publishing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lambdas.alerts.config import AlertsConfig, Rule
from lambdas.alerts.episodes import Message, Point, evaluate
from lambdas.alerts.outbox import add_messages, claim_due
from lambdas.alerts.repository import AlertPublisher, AlertStateRepository, StateConflict
from lambdas.alerts.state import StoredState


class ConflictsExhausted(RuntimeError):
    """Concurrent invocations kept changing the item; the payload is retried by Lambda."""


class PublishFailed(RuntimeError):
    """SNS refused a claimed message; its claim was released and the payload is retried."""


@dataclass(slots=True)
class RuleOutcome:
    decided: list[Message] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    duplicates: int = 0
    beyond_horizon: int = 0
    conflicts: int = 0
    claims_lost: int = 0


@dataclass(frozen=True, slots=True)
class Services:
    repository: AlertStateRepository
    publisher: AlertPublisher
    config: AlertsConfig
    token: str  # this invocation's claim token
    now_s: float


def commit(services: Services, rule: Rule, device_id: str, points: list[Point],
           read: StoredState | None = None) -> tuple[RuleOutcome, list[Message]]:
    """Evaluate and write the state (first against ``read``, when the caller read it
    already); the messages this invocation claimed."""
    outcome = RuleOutcome()
    config = services.config
    for _attempt in range(config.max_attempts):
        current = read if read is not None else services.repository.load(device_id, rule)
        read = None  # a conflict means the item moved on: read it again
        evaluation = evaluate(current.rule, rule, device_id, points, config.window_for(rule))
        outbox = add_messages(current.outbox, evaluation.messages)
        outbox, claimed = claim_due(outbox, services.token, services.now_s,
                                    config.claim_seconds)
        outcome.decided = evaluation.messages
        outcome.duplicates, outcome.beyond_horizon = (evaluation.duplicates,
                                                      evaluation.beyond_horizon)
        if evaluation.state == current.rule and not claimed:
            return outcome, []  # nothing new: a re-delivery, or late beyond the horizon
        updated = StoredState(rule=evaluation.state, outbox=outbox,
                              version=current.version + 1)
        try:
            services.repository.save(device_id, rule, updated, read_version=current.version,
                                     now_s=services.now_s)
        except StateConflict:
            outcome.conflicts += 1
            continue
        return outcome, claimed
    raise ConflictsExhausted(f"{device_id}/{rule.name}: {config.max_attempts} conflicting "
                             "writes in a row")


def publish_claimed(services: Services, rule: Rule, device_id: str,
                    claimed: list[Message], outcome: RuleOutcome) -> None:
    """Publish in order (raised before resolved); stop at the first failure, releasing
    its claim and those after it, and raise ``PublishFailed``."""
    for index, message in enumerate(claimed):
        try:
            services.publisher.publish(message)
        except Exception as exc:
            for unsent in claimed[index:]:
                services.repository.settle(device_id, rule, unsent.message_id,
                                           services.token, published=False)
            raise PublishFailed(f"{message.message_id}: {exc}") from exc
        outcome.published.append(message.message_id)
        if not services.repository.settle(device_id, rule, message.message_id,
                                          services.token, published=True):
            outcome.claims_lost += 1


def process_rule(services: Services, rule: Rule, device_id: str, points: list[Point],
                 read: StoredState | None = None) -> RuleOutcome:
    outcome, claimed = commit(services, rule, device_id, points, read)
    publish_claimed(services, rule, device_id, claimed, outcome)
    return outcome


__all__ = ["ConflictsExhausted", "PublishFailed", "RuleOutcome", "Services", "commit",
           "process_rule", "publish_claimed"]
