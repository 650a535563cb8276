"""EventBridge scheduled rules, fired on the runtime's clock.

``ScheduleRunner`` is one driver component. Every ``discovery_interval_s`` it reads the
default bus's rules (``ListRules``) and the targets of each enabled rule with a
``ScheduleExpression`` (``ListTargetsByRule``): rules created, changed, disabled or
deleted while the runtime runs are picked up at the next pass. Between passes it sleeps
until the earliest next fire time (``schedule_expressions``).

When a rule fires, each target gets EventBridge's scheduled event — or the target's
``Input`` (JSON text), the part of the event its ``InputPath`` selects, or its
``InputTransformer`` applied (simple ``$.a.b`` paths) — Lambda functions through an
asynchronous invocation (``AsyncInvoker.submit``, as EventBridge invokes them), SQS
queues and SNS topics as a message. The event's ``time`` is the scheduled time, to the
second, UTC.

A rate schedule starts when the rule is first seen (AWS: when it is created) or when its
expression changes; it then fires every period. A cron schedule fires at the matching
minutes. An expression shardline cannot honour is logged once, with the reason, and the
rule is skipped. Missed fire times (the process was suspended) are not replayed: the
rule fires once and continues from the present.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shardline.local.async_invoke import AsyncInvoker
from shardline.local.schedule_expressions import (
    Schedule,
    ScheduleExpressionError,
    parse_schedule,
)

log = logging.getLogger("shardline.engine")

DISCOVERY_INTERVAL_S = 2.0


@dataclass
class ScheduledRule:
    """An enabled scheduled rule as last read, with its next fire time (epoch seconds)."""

    arn: str
    name: str
    expression: str
    schedule: Schedule
    started_at: float
    next_fire: float | None
    targets: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ScheduleRunner:
    """Fires the embedded AWS's scheduled EventBridge rules (a driver component)."""

    events: Any  # boto3 EventBridge client for the embedded AWS
    invoker: AsyncInvoker
    # Delivers a document to an SQS queue or SNS topic (``Engine.send_to_destination``).
    send_to_target: Callable[[str, dict[str, Any]], None] | None = None
    discovery_interval_s: float = DISCOVERY_INTERVAL_S
    name: str = "schedules"
    fired: int = 0
    _rules: dict[str, ScheduledRule] = field(default_factory=dict)
    _rejected: dict[str, str] = field(default_factory=dict)  # rule ARN -> expression
    _next_discovery: float = -math.inf

    @property
    def rules(self) -> list[ScheduledRule]:
        return list(self._rules.values())

    def step(self, now: float) -> float:
        if now >= self._next_discovery:
            try:
                self.discover(now)
            except Exception:
                log.exception("schedule rule discovery failed")
            self._next_discovery = now + self.discovery_interval_s
        for rule in list(self._rules.values()):
            if rule.next_fire is not None and rule.next_fire <= now:
                self._fire(rule, rule.next_fire)
                rule.next_fire = rule.schedule.next_fire(max(now, rule.next_fire),
                                                         start=rule.started_at)
        fires = [r.next_fire for r in self._rules.values() if r.next_fire is not None]
        return min([self._next_discovery, *fires])

    # -- discovery ---------------------------------------------------------------------
    def discover(self, now: float) -> None:
        seen: set[str] = set()
        for data in self._scheduled_rules():
            arn, expression = data["Arn"], data["ScheduleExpression"]
            if not str(data.get("State", "ENABLED")).startswith("ENABLED"):
                continue
            rule = self._rules.get(arn)
            if rule is None or rule.expression != expression:
                rule = self._new_rule(data, now)
                if rule is None:
                    continue
                self._rules[arn] = rule
                log.info("schedule %s: %s", rule.name, expression)
            rule.targets = self._targets(rule.name)
            seen.add(arn)
        for arn in [a for a in self._rules if a not in seen]:
            log.info("schedule %s removed or disabled", self._rules.pop(arn).name)

    def _scheduled_rules(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self.events.list_rules(**kwargs)
            rules.extend(r for r in page.get("Rules", []) if r.get("ScheduleExpression"))
            token = page.get("NextToken")
            if not token:
                return rules
            kwargs = {"NextToken": token}

    def _new_rule(self, data: dict[str, Any], now: float) -> ScheduledRule | None:
        arn, expression = data["Arn"], data["ScheduleExpression"]
        try:
            schedule = parse_schedule(expression)
        except ScheduleExpressionError as exc:
            if self._rejected.get(arn) != expression:
                self._rejected[arn] = expression
                log.error("schedule %s skipped: %s", data["Name"], exc)
            return None
        self._rejected.pop(arn, None)
        return ScheduledRule(arn, data["Name"], expression, schedule, started_at=now,
                              next_fire=schedule.next_fire(now, start=now))

    def _targets(self, rule_name: str) -> list[dict[str, Any]]:
        targets: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"Rule": rule_name}
        while True:
            page = self.events.list_targets_by_rule(**kwargs)
            targets.extend(page.get("Targets", []))
            token = page.get("NextToken")
            if not token:
                return targets
            kwargs = {"Rule": rule_name, "NextToken": token}

    # -- firing ------------------------------------------------------------------------
    def _fire(self, rule: ScheduledRule, when: float) -> None:
        event = scheduled_event(rule.arn, when)
        self.fired += 1
        for target in rule.targets:
            arn = target["Arn"]
            try:
                payload = target_input(target, event)
                service = arn.split(":")[2]
                if service == "lambda":
                    self.invoker.submit(arn, payload, trigger=rule.arn, now=when)
                elif service in ("sqs", "sns") and self.send_to_target is not None:
                    self.send_to_target(arn, payload)
                else:
                    log.error("schedule %s: target %s is not supported locally", rule.name, arn)
            except Exception:
                log.exception("schedule %s: could not deliver to %s", rule.name, arn)


def scheduled_event(rule_arn: str, when: float) -> dict[str, Any]:
    """The event EventBridge sends for a scheduled rule firing at ``when``."""
    parts = rule_arn.split(":")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": parts[4],
        "time": datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": parts[3],
        "resources": [rule_arn],
        "detail": {},
    }


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives: ``Input``, ``InputPath`` or ``InputTransformer``, else the
    event itself."""
    if target.get("Input"):
        return json.loads(target["Input"])
    if target.get("InputPath"):
        return _select(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        values = {name: _select(event, path)
                  for name, path in (transformer.get("InputPathsMap") or {}).items()}
        template = transformer["InputTemplate"]

        def substitute(match: re.Match[str]) -> str:
            # Inside a JSON string a string value goes in as is; elsewhere as JSON.
            value = values.get(match.group(1))
            in_string = _unescaped_quotes(template[: match.start()]) % 2 == 1
            return value if in_string and isinstance(value, str) else json.dumps(value)

        text = _PLACEHOLDER.sub(substitute, template)
        try:
            return json.loads(text)
        except ValueError:
            return text
    return event


def _unescaped_quotes(text: str) -> int:
    return len(re.findall(r'(?<!\\)"', text))


def _select(event: Any, path: str) -> Any:
    """A JSONPath of the simple form ``$`` or ``$.a.b``."""
    if path == "$":
        return event
    if not path.startswith("$."):
        raise ValueError(f"unsupported JSONPath {path!r} (only $ and $.a.b)")
    value = event
    for key in path[2:].split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value
