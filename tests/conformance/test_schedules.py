"""EventBridge schedules (AWS-SEMANTICS.md, "SNS / SQS / EventBridge"; EventBridge user
guide, "Schedule expressions for rules"): rate and cron expressions parsed and their fire
times computed (pure functions), then scheduled rules fired on the virtual clock with
EventBridge's scheduled event, picked up as they are created, changed and removed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from shardline.local.schedule_expressions import (
    CronSchedule,
    RateSchedule,
    ScheduleExpressionError,
    parse_schedule,
)
from tests.conformance.harness import Harness


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def utc(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


# -- expressions (pure) ----------------------------------------------------------------
@pytest.mark.parametrize(("expression", "period_s"), [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600),
    ("rate(12 hours)", 43_200), ("rate(1 day)", 86_400), ("rate(7 days)", 604_800),
])
def test_rate_expressions_parse_to_their_period(expression: str, period_s: int) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, RateSchedule)
    assert schedule.period_s == period_s


def test_a_rate_schedule_fires_every_period_after_its_start() -> None:
    schedule = parse_schedule("rate(5 minutes)")
    start = epoch("2030-06-03T12:00:00")
    assert schedule.next_fire(start, start=start) == start + 300
    assert schedule.next_fire(start + 299, start=start) == start + 300
    assert schedule.next_fire(start + 300, start=start) == start + 600  # strictly after


@pytest.mark.parametrize(("expression", "after", "expected"), [
    # every day at 10:00 UTC
    ("cron(0 10 * * ? *)", "2030-06-03T12:03:30", "2030-06-04T10:00:00"),
    # every 15 minutes; "1/10" starts at minute 1
    ("cron(*/15 * * * ? *)", "2030-06-03T12:03:30", "2030-06-03T12:15:00"),
    ("cron(1/10 * * * ? *)", "2030-06-03T12:03:30", "2030-06-03T12:11:00"),
    # the exact minute is not "after" it
    ("cron(15 12 * * ? *)", "2030-06-03T12:15:00", "2030-06-04T12:15:00"),
    # weekdays at 18:00 (2030-06-07 is a Friday), by name and by number (2-6 = MON-FRI)
    ("cron(0 18 ? * MON-FRI *)", "2030-06-07T18:00:00", "2030-06-10T18:00:00"),
    ("cron(0 18 ? * 2-6 *)", "2030-06-07T18:00:00", "2030-06-10T18:00:00"),
    # lists and ranges: 08:00, 08:30 ... 10:30 on the 1st and 15th
    ("cron(0,30 8-10 1,15 * ? *)", "2030-06-01T10:30:00", "2030-06-15T08:00:00"),
    # months by name, years restricted
    ("cron(0 0 1 JAN,JUL ? 2031-2032)", "2030-06-03T00:00:00", "2031-01-01T00:00:00"),
    ("cron(0 0 1 1 ? 2030)", "2030-06-03T00:00:00", None),
    # wrapping ranges: 22:00-02:59 on Friday to Monday
    ("cron(0 22-2 ? * FRI-MON *)", "2030-06-05T00:00:00", "2030-06-07T00:00:00"),
    # L: last day of the month (2032 is a leap year); 6L: last Friday
    ("cron(0 12 L * ? *)", "2032-02-03T00:00:00", "2032-02-29T12:00:00"),
    ("cron(0 9 ? * 6L *)", "2030-06-01T00:00:00", "2030-06-28T09:00:00"),
    # W: weekday nearest the 1st without leaving the month (2030-06-01 is a Saturday)
    ("cron(0 9 1W * ? *)", "2030-06-01T00:00:00", "2030-06-03T09:00:00"),
    ("cron(0 9 LW * ? *)", "2030-08-01T00:00:00", "2030-08-30T09:00:00"),
    # #: the second Tuesday
    ("cron(0 9 ? * 3#2 *)", "2030-06-01T00:00:00", "2030-06-11T09:00:00"),
    # never: 30 February
    ("cron(0 0 30 2 ? *)", "2030-06-03T00:00:00", None),
])
def test_cron_next_fire_times(expression: str, after: str, expected: str | None) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, CronSchedule)
    assert utc(schedule.next_fire(epoch(after))) == expected


@pytest.mark.parametrize(("expression", "reason"), [
    ("rate(1 minutes)", "with value 1 the unit is 'minute'"),
    ("rate(5 minute)", "with value 5 the unit is 'minutes'"),
    ("rate(0 minutes)", "positive whole number"),
    ("rate(2 weeks)", "unit must be minute(s), hour(s) or day(s)"),
    ("cron(0 10 * * *)", "cron needs 6 fields"),
    ("cron(0 10 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 10 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(60 10 * * ? *)", "60 is outside 0-59 in the minutes field"),
    ("cron(0 10 * 13 ? *)", "13 is outside 1-12 in the month field"),
    ("cron(0 10 * * ? 2200)", "2200 is outside 1970-2199 in the year field"),
    ("cron(0 ? * * ? *)", "'?' is not allowed in the hours field"),
    ("cron(0 10 L-3 * ? *)", "not supported there"),
    ("cron(0 10 ? * 2#1,3#2 *)", "must be the field's only term"),
    ("cron(*/0 10 * * ? *)", "bad increment"),
    ("at(2030-06-03T12:00:00)", "expected rate(value unit) or cron(fields)"),
])
def test_expressions_that_cannot_be_honoured_are_rejected_with_the_reason(
        expression: str, reason: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=reason.replace("(", r"\(")
                       .replace(")", r"\)").replace("?", r"\?")):
        parse_schedule(expression)


# -- scheduled rules on the runtime ------------------------------------------------------
T0 = epoch("2030-06-03T12:00:00")

RECORD = """
def lambda_handler(event, context):
    seen(event)
"""


def started(harness: Harness, at: float = T0, rediscover_every_s: float = 60) -> None:
    """Start at ``at``; rules are re-read every ``rediscover_every_s`` (no mappings here)."""
    harness.clock.current = at
    harness.engine.discovery_interval_s = 3600
    harness.schedules.discovery_interval_s = rediscover_every_s
    harness.start()


def test_rate_5_minutes_fires_three_times_in_16_minutes(harness: Harness) -> None:
    # GIVEN a rule rate(5 minutes) targeting a function, created at T0
    function_arn = harness.function("rollup", RECORD)
    rule_arn = harness.schedule("five-minute-rollup", "rate(5 minutes)", function_arn)
    started(harness)

    # WHEN 16 minutes pass
    harness.advance(16 * 60)

    # THEN the function was invoked asynchronously at +5, +10 and +15 minutes with
    # EventBridge's scheduled event
    invocations = harness.invocations("rollup")
    assert [(i.at - T0, i.invocation_type, i.trigger) for i in invocations] == [
        (300, "Event", rule_arn), (600, "Event", rule_arn), (900, "Event", rule_arn)]
    events = harness.seen("rollup")
    assert [e["time"] for e in events] == [
        "2030-06-03T12:05:00Z", "2030-06-03T12:10:00Z", "2030-06-03T12:15:00Z"]
    assert len({e["id"] for e in events}) == 3
    assert {**events[0], "id": "-"} == {
        "version": "0", "id": "-", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2030-06-03T12:05:00Z", "region": "us-east-1",
        "resources": [rule_arn], "detail": {},
    }


def test_a_cron_rule_fires_at_its_matching_minutes(harness: Harness) -> None:
    # GIVEN a rule every 10 minutes between 12:00 and 12:59, seen first at 12:03:30
    function_arn = harness.function("rollup", RECORD)
    harness.schedule("ten-minutes-at-noon", "cron(0/10 12 * * ? *)", function_arn)
    started(harness, at=epoch("2030-06-03T12:03:30"))

    # WHEN the clock moves to 13:15
    harness.advance(71 * 60 + 30)

    # THEN it fired at 12:10 ... 12:50, and not in the 13:00 hour
    assert [e["time"] for e in harness.seen("rollup")] == [
        "2030-06-03T12:10:00Z", "2030-06-03T12:20:00Z", "2030-06-03T12:30:00Z",
        "2030-06-03T12:40:00Z", "2030-06-03T12:50:00Z"]


def test_targets_get_their_input_or_the_scheduled_event(harness: Harness) -> None:
    # GIVEN a function target with a constant Input, and a queue target without one
    function_arn = harness.function("rollup", RECORD)
    queue_url, queue_arn = harness.queue("ticks")
    rule_arn = harness.schedule("tick", "rate(1 minute)", function_arn,
                                Input='{"window": "1m", "sites": ["plant-a"]}')
    harness.client("events").put_targets(Rule="tick",
                                         Targets=[{"Id": "queue", "Arn": queue_arn}])
    started(harness)

    # WHEN the rule fires once
    harness.advance(60)

    # THEN the function got the Input, the queue the scheduled event
    assert harness.seen("rollup") == [{"window": "1m", "sites": ["plant-a"]}]
    (message,) = harness.messages(queue_url)
    assert (message["detail-type"], message["resources"], message["time"]) == (
        "Scheduled Event", [rule_arn], "2030-06-03T12:01:00Z")


def test_rules_changed_disabled_and_re_enabled_are_picked_up(harness: Harness) -> None:
    # GIVEN a rate(5 minutes) rule, rules re-read every minute
    function_arn = harness.function("rollup", RECORD)
    harness.schedule("rollup", "rate(5 minutes)", function_arn)
    events = harness.client("events")
    started(harness)

    # WHEN after 6 minutes it becomes rate(1 minute) (seen at +7 minutes: it restarts
    # there), is disabled at +9.5 minutes (seen at +10) and re-enabled at +12.5 (seen at
    # +13, a new start)
    harness.advance(6 * 60)
    events.put_rule(Name="rollup", ScheduleExpression="rate(1 minute)")
    harness.advance(3.5 * 60)
    events.disable_rule(Name="rollup")
    harness.advance(3 * 60)
    events.enable_rule(Name="rollup")
    harness.advance(3 * 60)

    # THEN it fired at +5 (old rate), +8 and +9 (new rate), then +14 and +15 minutes
    assert [(i.at - T0) / 60 for i in harness.invocations("rollup")] == [5, 8, 9, 14, 15]


def test_an_expression_shardline_cannot_honour_is_skipped_with_its_reason(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a rule whose cron uses an L offset (not supported locally)
    function_arn = harness.function("rollup", RECORD)
    harness.schedule("month-end", "cron(0 10 L-2 * ? *)", function_arn)

    # WHEN the runtime runs
    with caplog.at_level(logging.ERROR, logger="shardline.engine"):
        started(harness)
        harness.advance(300)

    # THEN the rule is skipped with a one-line reason, once
    skipped = [r.getMessage() for r in caplog.records if "month-end" in r.getMessage()]
    assert skipped == ["schedule month-end skipped: cron(0 10 L-2 * ? *): 'L' is not a "
                       "valid value in the day-of-month field (this wildcard is not "
                       "supported there)"]
    assert harness.invocations("rollup") == []
