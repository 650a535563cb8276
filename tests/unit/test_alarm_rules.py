"""The alarm evaluator decides states as CloudWatch documents them: M out of N breaching
periods, and each treatment of missing data."""

from __future__ import annotations

import pytest

from shardline.local.alarm_rules import ALARM, INSUFFICIENT_DATA, OK, evaluate
from tests.factories.alarms import alarm_rule


def test_a_breaching_datapoint_puts_the_alarm_in_alarm() -> None:
    # GIVEN an alarm on depth >= 1 over one period
    rule = alarm_rule()
    # WHEN the period's datapoint is 3
    decision = evaluate(rule, [3.0], OK)
    # THEN the alarm is in ALARM and the reason names the datapoint
    assert decision.state == ALARM
    assert "[3]" in decision.reason


def test_a_datapoint_within_the_threshold_is_ok() -> None:
    decision = evaluate(alarm_rule(), [0.0], ALARM)
    assert decision.state == OK


def test_m_out_of_n_needs_m_breaching_periods() -> None:
    # GIVEN 2 out of 3 periods
    rule = alarm_rule(EvaluationPeriods=3, DatapointsToAlarm=2)
    # WHEN one, then two, of the last three periods breach
    one = evaluate(rule, [0.0, 5.0, 0.0], OK)
    two = evaluate(rule, [5.0, 0.0, 5.0], OK)
    # THEN only the second goes to ALARM
    assert (one.state, two.state) == (OK, ALARM)


@pytest.mark.parametrize(("treatment", "current", "expected"), [
    ("missing", OK, INSUFFICIENT_DATA),
    ("ignore", ALARM, ALARM),
    ("breaching", OK, ALARM),
    ("notBreaching", ALARM, OK),
])
def test_a_range_without_data_follows_the_missing_data_treatment(
        treatment: str, current: str, expected: str) -> None:
    # GIVEN an alarm treating missing data as ``treatment``
    rule = alarm_rule(TreatMissingData=treatment)
    # WHEN no period of the range has a datapoint
    decision = evaluate(rule, [None], current)
    # THEN its state is what CloudWatch documents for that treatment
    assert decision.state == expected


def test_breaching_missing_periods_count_towards_m() -> None:
    rule = alarm_rule(EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="breaching")
    assert evaluate(rule, [None, 0.0, 5.0], OK).state == ALARM


def test_missing_periods_beside_datapoints_within_the_threshold_are_ok() -> None:
    rule = alarm_rule(EvaluationPeriods=3, DatapointsToAlarm=2)
    assert evaluate(rule, [None, 0.0, None], ALARM).state == OK


def test_unsupported_comparisons_are_refused() -> None:
    with pytest.raises(ValueError):
        alarm_rule(ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold")


def test_dynamodb_alarms_always_ignore_missing_data() -> None:
    # GIVEN an alarm on a DynamoDB metric that asks for notBreaching
    rule = alarm_rule(Namespace="AWS/DynamoDB", MetricName="WriteThrottleEvents",
                      TreatMissingData="notBreaching")
    # WHEN its range has no data while it is in ALARM
    # THEN it stays in ALARM, as CloudWatch does for AWS/DynamoDB
    assert evaluate(rule, [None], ALARM).state == ALARM
