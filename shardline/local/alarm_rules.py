"""How CloudWatch decides a metric alarm's state (pure; "Using Amazon CloudWatch alarms").

An alarm compares one statistic of a metric, per ``Period``, with ``Threshold`` using
``ComparisonOperator``. It looks at the last ``EvaluationPeriods`` periods (the
evaluation range) and goes to ALARM when at least ``DatapointsToAlarm`` of them (M out
of N; N when not set) breach. Missing datapoints are handled as ``TreatMissingData``
says:

* ``breaching`` / ``notBreaching``: a missing period counts as breaching / within;
* ``missing`` (the default): missing periods count for nothing; when every period of the
  range is missing the alarm goes to INSUFFICIENT_DATA;
* ``ignore``: as ``missing``, but a range with no data keeps the current state.

Alarms on AWS/DynamoDB metrics always ignore missing data, whatever is set (the
PutMetricAlarm reference). When some datapoints exist but fewer than M breach, the
alarm is OK. (CloudWatch also
looks a little further back than the range when datapoints are missing; this evaluator
uses the range only.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"

_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
TREATMENTS = ("breaching", "notBreaching", "missing", "ignore")


@dataclass(frozen=True)
class AlarmRule:
    """A metric alarm as ``DescribeAlarms`` returns it (single metric, static threshold)."""

    name: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    period_s: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str = "missing"
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    actions_enabled: bool = True

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> AlarmRule:
        evaluation_periods = int(data["EvaluationPeriods"])
        treatment = data.get("TreatMissingData") or "missing"
        if data.get("Namespace") == "AWS/DynamoDB":
            treatment = "ignore"
        if data["ComparisonOperator"] not in _COMPARISONS or treatment not in TREATMENTS:
            raise ValueError(f"alarm {data['AlarmName']}: unsupported comparison "
                             f"{data['ComparisonOperator']} or missing-data treatment")
        return cls(
            name=data["AlarmName"], namespace=data["Namespace"],
            metric_name=data["MetricName"],
            dimensions=tuple((d["Name"], d["Value"]) for d in data.get("Dimensions", [])),
            statistic=data.get("Statistic") or "Average", period_s=int(data["Period"]),
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=int(data.get("DatapointsToAlarm") or evaluation_periods),
            threshold=float(data["Threshold"]), comparison=data["ComparisonOperator"],
            treat_missing_data=treatment,
            alarm_actions=tuple(data.get("AlarmActions", [])),
            ok_actions=tuple(data.get("OKActions", [])),
            insufficient_data_actions=tuple(data.get("InsufficientDataActions", [])),
            actions_enabled=bool(data.get("ActionsEnabled", True)),
        )

    def breaches(self, value: float) -> bool:
        return bool(_COMPARISONS[self.comparison](value, self.threshold))


@dataclass(frozen=True)
class Decision:
    state: str
    reason: str
    breaching: int
    recent: tuple[float | None, ...]


def evaluate(rule: AlarmRule, datapoints: Sequence[float | None], current: str) -> Decision:
    """The state for the evaluation range ``datapoints`` (oldest first; None: missing)."""
    recent = tuple(datapoints[-rule.evaluation_periods:])
    present = [value for value in recent if value is not None]
    missing = len(recent) - len(present)
    breaching = sum(1 for value in present if rule.breaches(value))
    if rule.treat_missing_data == "breaching":
        breaching += missing
    if breaching >= rule.datapoints_to_alarm:
        return Decision(ALARM, _reason(rule, recent, breaching, "breaching"), breaching, recent)
    if not present and rule.treat_missing_data in ("missing", "ignore"):
        if rule.treat_missing_data == "ignore":
            return Decision(current, "no datapoints: state kept (treat missing data: "
                            "ignore)", 0, recent)
        return Decision(INSUFFICIENT_DATA, f"Insufficient Data: {len(recent)} datapoints "
                        "were unknown.", 0, recent)
    return Decision(OK, _reason(rule, recent, len(recent) - breaching, "not breaching"),
                    breaching, recent)


def _reason(rule: AlarmRule, recent: tuple[float | None, ...], count: int,
            verdict: str) -> str:
    """CloudWatch's wording: "Threshold Crossed: 1 out of the last 1 datapoints [5.0 …]"."""
    shown = ", ".join("missing" if v is None else f"{v:g}" for v in recent)
    return (f"Threshold Crossed: {count} out of the last {len(recent)} "
            f"datapoints [{shown}] were {verdict} the threshold ({rule.threshold:g}).")
