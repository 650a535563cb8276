"""Evaluates the metric alarms Terraform created, as CloudWatch does (a driver component).

moto stores alarms (``PutMetricAlarm``) and datapoints but never evaluates an alarm: its
state stays what ``SetAlarmState`` last set. So every minute of the engine's clock
(shortly after the metrics publisher has put the minute that ended) this component reads
each metric alarm back (``DescribeAlarms``), fetches one datapoint per period of its
evaluation range (``GetMetricStatistics``, the alarm's statistic), decides the state
(``alarm_rules.evaluate``) and, on a change, sets it (``SetAlarmState``, with
CloudWatch's reason data) and publishes CloudWatch's notification to the SNS topics of
the new state's actions (``AlarmActions``, ``OKActions``, ``InsufficientDataActions``)
when the alarm's actions are enabled.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shardline.local.alarm_rules import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmRule,
    Decision,
    evaluate,
)
from shardline.local.metric_data import timestamp

log = logging.getLogger("shardline.alarms")

EVALUATION_INTERVAL_S = 60
# After the minute boundary: the metrics publisher has put the minute that just ended.
EVALUATION_DELAY_S = 5.0
INITIAL_REASON = "Unchecked: Initial alarm creation"
REGION_NAMES = {"us-east-1": "US East (N. Virginia)"}


@dataclass
class AlarmEvaluator:
    """Driver component: evaluates every metric alarm once a minute."""

    clients: Callable[[str], Any]  # the administrator's clients of the embedded AWS
    region: str = "us-east-1"
    # (topic ARN, alarm ARN) -> why CloudWatch may not publish there (None: it may); the
    # stack passes ``alarm_actions.publish_refusal`` while IAM and KMS are enforced.
    publish_refusal: Callable[[str, str], str | None] | None = None
    name: str = "alarm-evaluator"
    _unsupported: set[str] = field(default_factory=set)
    _evaluated: int | None = None  # the interval whose evaluation ran last

    def step(self, now: float) -> float:
        """Evaluate every alarm, once per interval: a real-time driver steps a component
        at least every second, and evaluating each time asked CloudWatch for every
        alarm's data several times a second, a steady load on the embedded AWS."""
        boundary = math.floor(now / EVALUATION_INTERVAL_S) * EVALUATION_INTERVAL_S
        wake = boundary + EVALUATION_INTERVAL_S + EVALUATION_DELAY_S
        interval = math.floor((now - EVALUATION_DELAY_S) / EVALUATION_INTERVAL_S)
        if interval == self._evaluated:
            return wake
        self._evaluated = interval
        for data in self._metric_alarms():
            try:
                rule = AlarmRule.from_api(data)
            except (KeyError, ValueError) as exc:
                self._skip(data.get("AlarmName", "?"), str(exc))
                continue
            try:
                self.evaluate(rule, data, now)
            except Exception:  # one alarm's failure must not stop the others
                log.exception("alarm %s could not be evaluated", rule.name)
        return wake

    def evaluate(self, rule: AlarmRule, data: dict[str, Any], now: float) -> Decision:
        """Evaluate one alarm at ``now``; set its state and notify when it changes."""
        end = math.floor(now / rule.period_s) * rule.period_s
        starts = [end - (rule.evaluation_periods - i) * rule.period_s
                  for i in range(rule.evaluation_periods)]
        values = [self._datapoint(rule, start) for start in starts]
        current = current_state(data)
        decision = evaluate(rule, values, current)
        if decision.state != current:
            self._change(rule, {**data, "StateValue": current}, decision, starts[0], now)
        elif decision.state != data.get("StateValue"):
            self._set_state(rule, decision, starts[0], now)  # moto's initial OK
        return decision

    def _metric_alarms(self) -> list[dict[str, Any]]:
        paginator = self.clients("cloudwatch").get_paginator("describe_alarms")
        alarms: list[dict[str, Any]] = []
        for page in paginator.paginate():
            for data in page.get("MetricAlarms", []):
                if data.get("Metrics") or data.get("ExtendedStatistic"):
                    self._skip(data["AlarmName"], "metric math and percentiles are not "
                               "evaluated locally")
                    continue
                alarms.append(data)
        return alarms

    def _skip(self, alarm: str, why: str) -> None:
        if alarm not in self._unsupported:
            self._unsupported.add(alarm)
            log.warning("alarm %s is not evaluated: %s", alarm, why)

    def _datapoint(self, rule: AlarmRule, start: float) -> float | None:
        response = self.clients("cloudwatch").get_metric_statistics(
            Namespace=rule.namespace, MetricName=rule.metric_name,
            Dimensions=[{"Name": k, "Value": v} for k, v in rule.dimensions],
            StartTime=timestamp(start), EndTime=timestamp(start + rule.period_s),
            Period=rule.period_s, Statistics=[rule.statistic])
        points = response.get("Datapoints", [])
        return float(points[0][rule.statistic]) if points else None

    def _change(self, rule: AlarmRule, data: dict[str, Any], decision: Decision,
                range_start: float, now: float) -> None:
        self._set_state(rule, decision, range_start, now)
        # A freshly created alarm settling from INSUFFICIENT_DATA to OK is news to no one
        # (a stack coming up settles every alarm at once); every other change is.
        settling = data.get("StateValue") == INSUFFICIENT_DATA and decision.state == OK
        log.log(logging.DEBUG if settling else logging.INFO, "alarm %s: %s -> %s",
                rule.name, data.get("StateValue"), decision.state)
        actions = {ALARM: rule.alarm_actions, OK: rule.ok_actions}.get(
            decision.state, rule.insufficient_data_actions)
        if not rule.actions_enabled:
            return
        message = notification(rule, data, decision, now, self.region)
        subject = f'{decision.state}: "{rule.name}" in {_region_name(self.region)}'
        for arn in actions:
            if not arn.startswith("arn:aws:sns:"):
                continue
            refused = self.publish_refusal and self.publish_refusal(arn, rule_arn(data))
            if refused:
                log.error("alarm %s: CloudWatch may not notify %s: %s", rule.name, arn, refused)
                continue
            self.clients("sns").publish(TopicArn=arn, Subject=subject[:100],
                                        Message=json.dumps(message))

    def _set_state(self, rule: AlarmRule, decision: Decision, range_start: float,
                   now: float) -> None:
        reason_data = json.dumps({
            "version": "1.0", "queryDate": _iso(now), "startDate": _iso(range_start),
            "statistic": rule.statistic, "period": rule.period_s,
            "recentDatapoints": [v for v in decision.recent if v is not None],
            "threshold": rule.threshold,
        })
        self.clients("cloudwatch").set_alarm_state(
            AlarmName=rule.name, StateValue=decision.state,
            StateReason=decision.reason[:1023], StateReasonData=reason_data)


def rule_arn(data: dict[str, Any]) -> str:
    return str(data.get("AlarmArn") or f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:"
               f"{data.get('AlarmName')}")


def current_state(data: dict[str, Any]) -> str:
    """The alarm's state as AWS has it: a new alarm is INSUFFICIENT_DATA until evaluated
    (moto stores OK)."""
    if data.get("StateReason") == INITIAL_REASON:
        return INSUFFICIENT_DATA
    return str(data.get("StateValue", INSUFFICIENT_DATA))


def notification(rule: AlarmRule, data: dict[str, Any], decision: Decision, now: float,
                 region: str) -> dict[str, Any]:
    """The message CloudWatch publishes to an alarm's SNS topic on a state change."""
    return {
        "AlarmName": rule.name,
        "AlarmDescription": data.get("AlarmDescription"),
        "AWSAccountId": str(data.get("AlarmArn", "::::")).split(":")[4],
        "AlarmConfigurationUpdatedTimestamp": _iso_value(
            data.get("AlarmConfigurationUpdatedTimestamp")),
        "NewStateValue": decision.state,
        "NewStateReason": decision.reason,
        "StateChangeTime": _iso(now),
        "Region": _region_name(region),
        "AlarmArn": data.get("AlarmArn"),
        "OldStateValue": data.get("StateValue", "INSUFFICIENT_DATA"),
        "OKActions": list(rule.ok_actions),
        "AlarmActions": list(rule.alarm_actions),
        "InsufficientDataActions": list(rule.insufficient_data_actions),
        "Trigger": {
            "MetricName": rule.metric_name, "Namespace": rule.namespace,
            "StatisticType": "Statistic", "Statistic": rule.statistic.upper(),
            "Unit": data.get("Unit"),
            "Dimensions": [{"value": v, "name": k} for k, v in rule.dimensions],
            "Period": rule.period_s, "EvaluationPeriods": rule.evaluation_periods,
            "DatapointsToAlarm": rule.datapoints_to_alarm,
            "ComparisonOperator": rule.comparison, "Threshold": rule.threshold,
            "TreatMissingData": rule.treat_missing_data,
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def _region_name(region: str) -> str:
    return REGION_NAMES.get(region, region)


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] \
        + "+0000"


def _iso_value(value: Any) -> str | None:
    if isinstance(value, datetime):
        return _iso(value.timestamp())
    return None if value is None else str(value)


def alarm_states(cloudwatch: Any) -> list[dict[str, Any]]:
    """Every metric alarm's name, state, reason and last update (``local alarms``)."""
    rows = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate():
        for data in page.get("MetricAlarms", []):
            updated = data.get("StateUpdatedTimestamp")
            rows.append({
                "name": data["AlarmName"], "state": current_state(data),
                "reason": data.get("StateReason", ""),
                "updated": _iso_value(updated) or "-",
            })
    return sorted(rows, key=lambda row: row["name"])
