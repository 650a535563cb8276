"""Factories for CloudWatch metric alarms as ``DescribeAlarms`` returns them, and for
invocation-log entries the metrics publisher reads."""

from __future__ import annotations

from typing import Any

from shardline.local.alarm_rules import AlarmRule
from shardline.local.invoke_model import FunctionInvocation

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:shardline-aggregator"


def alarm_data(name: str = "queue-depth", **overrides: Any) -> dict[str, Any]:
    """A ``MetricAlarms`` entry: one queue's depth, 1 of 1 one-minute periods >= 1."""
    data: dict[str, Any] = {
        "AlarmName": name,
        "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}",
        "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": "failures"}],
        "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1, "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "missing", "StateValue": "INSUFFICIENT_DATA",
        "ActionsEnabled": True, "AlarmActions": [], "OKActions": [],
        "InsufficientDataActions": [],
    }
    data.update(overrides)
    return data


def alarm_rule(**overrides: Any) -> AlarmRule:
    return AlarmRule.from_api(alarm_data(**overrides))


def invocation(at: float, *, outcome: str = "ok", duration_ms: float = 10.0,
               function: str = FUNCTION_ARN) -> FunctionInvocation:
    return FunctionInvocation(function=function, duration_ms=duration_ms, outcome=outcome,
                              error_type=None if outcome == "ok" else "Error", at=at,
                              invocation_type="Event", request_id="r", attempt=1,
                              trigger="api")
