"""Alerts worker configuration: one typed, frozen object read once from the environment.

Environment variables:

* ``ALERT_RULES`` (required): a JSON list of threshold rules, each
  ``{"name": "overheat", "metric": "temperature_c", "op": ">", "threshold": 80,
  "for": 3, "severity": "critical"}``: the rule holds for a reading when
  ``value <op> threshold``, and an episode opens after ``for`` consecutive readings (in
  event-time order) for which it holds. ``op`` is one of ``>``, ``>=``, ``<``, ``<=``;
  ``for`` is 1 to 100 (default 1); ``severity`` a word (default ``warning``). The
  threshold is read as the ``Decimal`` of its JSON text and compared exactly.
* ``ALERT_STATE_TABLE`` (required): DynamoDB table (PK, SK strings) of the rule state.
* ``ALERTS_TOPIC_ARN`` (required): SNS topic the alerts are published to.
* ``ALERT_WINDOW`` (default 32, 4 to 500): readings of a rule's metric kept per device;
  raised to ``2 * for`` for a rule that needs more. A reading older than all of them
  once the window is full is beyond the horizon: already decided, ignored.
* ``ALERT_CLAIM_SECONDS`` (default 120, 10 to 3600): how long an invocation may take to
  publish a message it claimed before another one may publish it (set it above the
  function timeout).
* ``ALERT_MAX_ATTEMPTS`` (default 8): read-evaluate-write attempts per device and rule
  when concurrent invocations conflict.
* ``ALERT_MAX_WORKERS`` (default 8, 1 to 32): (device, rule) pairs processed at once.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lambdas.shared.settings import ConfigError, required, whole_number
from lambdas.shared.telemetry import METRIC_NAME_PATTERN, VALUE_LIMIT

OPERATORS = (">", ">=", "<", "<=")
RULE_NAME_PATTERN = r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z"
SEVERITY_PATTERN = r"\A[a-z][a-z0-9_-]{0,31}\Z"
MAX_FOR = 100
_RULE_FIELDS = frozenset(("name", "metric", "op", "threshold", "for", "severity"))


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    metric: str
    op: str
    threshold: Decimal
    for_count: int = 1
    severity: str = "warning"

    def holds(self, value: Decimal) -> bool:
        threshold = self.threshold
        if self.op == ">":
            return value > threshold
        if self.op == ">=":
            return value >= threshold
        if self.op == "<":
            return value < threshold
        return value <= threshold

    @property
    def condition(self) -> str:
        return f"{self.metric} {self.op} {self.threshold} for {self.for_count}"


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    rules: tuple[Rule, ...]
    state_table: str
    topic_arn: str
    window: int = 32
    claim_seconds: int = 120
    max_attempts: int = 8
    max_workers: int = 8

    def window_for(self, rule: Rule) -> int:
        return max(self.window, 2 * rule.for_count)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AlertsConfig:
        return cls(
            rules=parse_rules(required(environ, "ALERT_RULES",
                                       "give the threshold rules as a JSON list")),
            state_table=required(environ, "ALERT_STATE_TABLE",
                                 "name the DynamoDB table of the alert state"),
            topic_arn=required(environ, "ALERTS_TOPIC_ARN", "name the SNS topic of alerts"),
            window=whole_number(environ, "ALERT_WINDOW", 32, low=4, high=500),
            claim_seconds=whole_number(environ, "ALERT_CLAIM_SECONDS", 120, low=10,
                                       high=3600),
            max_attempts=whole_number(environ, "ALERT_MAX_ATTEMPTS", 8, low=1, high=50),
            max_workers=whole_number(environ, "ALERT_MAX_WORKERS", 8, low=1, high=32),
        )


def parse_rules(text: str) -> tuple[Rule, ...]:
    """The rules of ``ALERT_RULES``; ``ConfigError`` (one line) naming the first problem."""
    try:
        raw = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise ConfigError(f"ALERT_RULES is not JSON: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise ConfigError("ALERT_RULES must be a non-empty JSON list of rules")
    rules = tuple(_rule(item, index) for index, item in enumerate(raw))
    names = [rule.name for rule in rules]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"ALERT_RULES: rule name {name!r} is used twice")
    return rules


def _rule(raw: Any, index: int) -> Rule:
    where = f"ALERT_RULES[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} is not an object")
    unknown = sorted(set(raw) - _RULE_FIELDS)
    if unknown:
        raise ConfigError(f"{where} has unknown field {unknown[0]!r}")
    name = _matching(raw, "name", RULE_NAME_PATTERN, where)
    metric = _matching(raw, "metric", METRIC_NAME_PATTERN, where)
    op = raw.get("op")
    if op not in OPERATORS:
        raise ConfigError(f"{where}.op must be one of {', '.join(OPERATORS)}, not {op!r}")
    threshold = raw.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, Decimal)) \
            or not abs(threshold) < VALUE_LIMIT:
        raise ConfigError(f"{where}.threshold must be a JSON number below {VALUE_LIMIT} "
                          f"in magnitude, not {threshold!r}")
    for_count = raw.get("for", 1)
    if type(for_count) is not int or not 1 <= for_count <= MAX_FOR:
        raise ConfigError(f"{where}.for must be a whole number from 1 to {MAX_FOR}")
    severity = _matching({"severity": raw.get("severity", "warning")}, "severity",
                         SEVERITY_PATTERN, where)
    return Rule(name=name, metric=metric, op=op, threshold=Decimal(threshold),
                for_count=for_count, severity=severity)


def _matching(raw: dict[str, Any], field: str, pattern: str, where: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not re.search(pattern, value):
        raise ConfigError(f"{where}.{field} is missing or invalid: {value!r}")
    return value


@functools.cache
def get_config() -> AlertsConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return AlertsConfig.from_environ(os.environ)


__all__ = ["AlertsConfig", "ConfigError", "Rule", "get_config", "parse_rules"]
