"""EventBridge schedule expressions: parsing and next-fire times, with no AWS and no clock.

``parse_schedule("rate(5 minutes)")`` or ``parse_schedule("cron(0 10 ? * MON-FRI *)")``
returns a schedule whose ``next_fire(after, start=...)`` gives the first fire time strictly
after ``after`` (epoch seconds, UTC), or ``None`` when the expression never fires again.

Rules (EventBridge user guide, "Schedule expressions for rules"):

* ``rate(value unit)``: value a positive whole number, unit ``minute|hour|day`` for 1 and
  ``minutes|hours|days`` otherwise (``rate(1 hours)`` and ``rate(5 hour)`` are invalid).
  A rate schedule starts when the rule is created: it fires at start + k * period, k >= 1.
* ``cron(minutes hours day-of-month month day-of-week year)``, always in UTC, one-minute
  resolution. Values: minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC,
  day-of-week 1-7 or SUN-SAT (1 = Sunday), year 1970-2199. Wildcards: ``,`` ``-`` ``*``
  ``/`` everywhere; ``?`` in day-of-month or day-of-week, and exactly one of the two must
  be ``?``; ``L`` (last day of the month; in day-of-week alone, Saturday; ``5L`` the last
  Thursday of the month), ``W`` (``15W`` the weekday nearest the 15th, within the month;
  ``LW`` the last weekday), ``#`` (``3#2`` the second Tuesday; only one such term).
  A range whose end is below its start wraps around (``FRI-MON``, ``22-2``).

Anything else raises ``ScheduleExpressionError`` with a one-line reason.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shardline.errors import ShardlineError

MIN_YEAR, MAX_YEAR = 1970, 2199

_RATE = re.compile(r"^rate\(\s*(\S+)\s+(\S+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class ScheduleExpressionError(ShardlineError):
    """A schedule expression EventBridge would reject, or one shardline cannot honour."""


@dataclass(frozen=True)
class RateSchedule:
    expression: str
    period_s: int

    def next_fire(self, after: float, *, start: float) -> float:
        """The first ``start + k * period`` (k ≥ 1) strictly after ``after``."""
        if after < start:
            return start + self.period_s
        periods = math.floor((after - start) / self.period_s) + 1
        return start + periods * self.period_s


@dataclass(frozen=True)
class _Field:
    """One cron field: its plain values plus the day-of-month/week special terms."""

    values: frozenset[int]
    any: bool = False  # '?'
    last: bool = False  # 'L' in day-of-month
    last_weekday: bool = False  # 'LW'
    nearest_weekday: frozenset[int] = frozenset()  # 'NW' in day-of-month
    last_of_weekday: frozenset[int] = frozenset()  # 'NL' in day-of-week
    nth_weekday: tuple[int, int] | None = None  # 'D#N' in day-of-week


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    minutes: _Field
    hours: _Field
    days_of_month: _Field
    months: _Field
    days_of_week: _Field
    years: _Field

    def next_fire(self, after: float, *, start: float | None = None) -> float | None:
        """The first matching minute strictly after ``after``; ``None`` if there is none."""
        del start  # cron schedules do not depend on when the rule was created
        first = datetime.fromtimestamp(math.floor(after / 60) * 60 + 60, tz=UTC)
        hours = sorted(self.hours.values)
        minutes = sorted(self.minutes.values)
        for year in range(max(first.year, MIN_YEAR), MAX_YEAR + 1):
            if year not in self.years.values:
                continue
            for month in sorted(self.months.values):
                if (year, month) < (first.year, first.month):
                    continue
                for day in self._days(year, month):
                    today = date(year, month, day)
                    if today < first.date():
                        continue
                    for hour in hours:
                        for minute in minutes:
                            candidate = datetime(year, month, day, hour, minute, tzinfo=UTC)
                            if candidate >= first:
                                return candidate.timestamp()
        return None

    def _days(self, year: int, month: int) -> list[int]:
        length = calendar.monthrange(year, month)[1]
        if self.days_of_week.any:
            return _days_of_month(self.days_of_month, year, month, length)
        return _days_of_week(self.days_of_week, year, month, length)


Schedule = RateSchedule | CronSchedule


def parse_schedule(expression: str) -> Schedule:
    """Parse an EventBridge ``ScheduleExpression``."""
    text = expression.strip()
    if text.startswith("rate("):
        return _parse_rate(text)
    if text.startswith("cron("):
        return _parse_cron(text)
    raise ScheduleExpressionError(
        f"schedule expression {expression!r}: expected rate(value unit) or cron(fields)")


def _parse_rate(text: str) -> RateSchedule:
    match = _RATE.match(text)
    if match is None:
        raise ScheduleExpressionError(f"{text}: expected rate(value unit)")
    value_text, unit = match.groups()
    if not value_text.isdigit() or int(value_text) <= 0:
        raise ScheduleExpressionError(f"{text}: the value must be a positive whole number")
    value = int(value_text)
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in _UNIT_SECONDS:
        raise ScheduleExpressionError(
            f"{text}: unit must be minute(s), hour(s) or day(s), not {unit!r}")
    if (value == 1) != (unit == singular):
        expected = singular if value == 1 else f"{singular}s"
        raise ScheduleExpressionError(f"{text}: with value {value} the unit is {expected!r}")
    return RateSchedule(text, value * _UNIT_SECONDS[singular])


def _parse_cron(text: str) -> CronSchedule:
    match = _CRON.match(text)
    assert match is not None
    fields = match.group(1).split()
    if len(fields) != 6:
        raise ScheduleExpressionError(
            f"{text}: cron needs 6 fields (minutes hours day-of-month month day-of-week "
            f"year), got {len(fields)}")
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleExpressionError(
            f"{text}: exactly one of day-of-month and day-of-week must be '?'")
    return CronSchedule(
        text,
        minutes=_plain_field(text, "minutes", minutes, 0, 59),
        hours=_plain_field(text, "hours", hours, 0, 23),
        days_of_month=_day_of_month_field(text, dom),
        months=_plain_field(text, "month", month, 1, 12, _MONTHS),
        days_of_week=_day_of_week_field(text, dow),
        years=_plain_field(text, "year", year, MIN_YEAR, MAX_YEAR),
    )


def _plain_field(expression: str, name: str, text: str, low: int, high: int,
                 names: dict[str, int] | None = None) -> _Field:
    if text == "?":
        raise ScheduleExpressionError(f"{expression}: '?' is not allowed in the {name} field")
    values: set[int] = set()
    for term in text.split(","):
        values |= _term_values(expression, name, term, low, high, names)
    return _Field(frozenset(values))


def _term_values(expression: str, name: str, term: str, low: int, high: int,
                 names: dict[str, int] | None) -> set[int]:
    """Values of one ``*``, ``N``, ``N-M``, ``*/S``, ``N/S`` or ``N-M/S`` term."""
    base, slash, step_text = term.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise ScheduleExpressionError(
                f"{expression}: bad increment {term!r} in the {name} field")
        step = int(step_text)
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start = _value(expression, name, first, low, high, names)
        end = _value(expression, name, last, low, high, names)
    else:
        start = _value(expression, name, base, low, high, names)
        end = high if slash else start
    span = end - start if end >= start else end + (high - low + 1) - start
    return {low + (start - low + offset) % (high - low + 1) for offset in range(0, span + 1, step)}


def _value(expression: str, name: str, text: str, low: int, high: int,
           names: dict[str, int] | None) -> int:
    upper = text.upper()
    if names and upper in names:
        return names[upper]
    if not text.isdigit():
        raise ScheduleExpressionError(
            f"{expression}: {text!r} is not a valid value in the {name} field"
            + (" (this wildcard is not supported there)" if upper in {"L", "W", "#"} else ""))
    value = int(text)
    if not low <= value <= high:
        raise ScheduleExpressionError(
            f"{expression}: {value} is outside {low}-{high} in the {name} field")
    return value


def _day_of_month_field(expression: str, text: str) -> _Field:
    if text == "?":
        return _Field(frozenset(), any=True)
    values: set[int] = set()
    nearest: set[int] = set()
    last = last_weekday = False
    for term in text.split(","):
        upper = term.upper()
        if upper == "L":
            last = True
        elif upper == "LW":
            last_weekday = True
        elif upper.endswith("W"):
            nearest.add(_value(expression, "day-of-month", upper[:-1], 1, 31, None))
        else:
            values |= _term_values(expression, "day-of-month", term, 1, 31, None)
    return _Field(frozenset(values), last=last, last_weekday=last_weekday,
                  nearest_weekday=frozenset(nearest))


def _day_of_week_field(expression: str, text: str) -> _Field:
    if text == "?":
        return _Field(frozenset(), any=True)
    values: set[int] = set()
    last_of: set[int] = set()
    nth: tuple[int, int] | None = None
    terms = text.split(",")
    for term in terms:
        upper = term.upper()
        if "#" in upper:
            if len(terms) > 1:
                raise ScheduleExpressionError(
                    f"{expression}: a '#' day-of-week must be the field's only term")
            day_text, _, nth_text = upper.partition("#")
            day = _value(expression, "day-of-week", day_text, 1, 7, _WEEKDAYS)
            if not nth_text.isdigit() or not 1 <= int(nth_text) <= 5:
                raise ScheduleExpressionError(
                    f"{expression}: {term!r}: the occurrence after '#' must be 1-5")
            nth = (day, int(nth_text))
        elif upper == "L":
            values.add(7)  # the last day of the week: Saturday
        elif upper.endswith("L"):
            last_of.add(_value(expression, "day-of-week", upper[:-1], 1, 7, _WEEKDAYS))
        else:
            values |= _term_values(expression, "day-of-week", term, 1, 7, _WEEKDAYS)
    return _Field(frozenset(values), last_of_weekday=frozenset(last_of), nth_weekday=nth)


def _weekday(day: date) -> int:
    """EventBridge numbering: 1 = Sunday … 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _days_of_month(spec: _Field, year: int, month: int, length: int) -> list[int]:
    days = {d for d in spec.values if d <= length}
    if spec.last:
        days.add(length)
    if spec.last_weekday:
        days.add(_nearest_weekday(year, month, length, length))
    for target in spec.nearest_weekday:
        if target <= length:
            days.add(_nearest_weekday(year, month, target, length))
    return sorted(days)


def _nearest_weekday(year: int, month: int, target: int, length: int) -> int:
    """The Monday-Friday day nearest ``target`` without leaving the month."""
    weekday = date(year, month, target).weekday()  # Monday = 0
    if weekday < 5:
        return target
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    return target + 1 if target < length else target - 2  # Sunday


def _days_of_week(spec: _Field, year: int, month: int, length: int) -> list[int]:
    first = date(year, month, 1)
    days = []
    for offset in range(length):
        day = first + timedelta(days=offset)
        weekday = _weekday(day)
        last_of_its_kind = weekday in spec.last_of_weekday and day.day + 7 > length
        nth_of_its_kind = spec.nth_weekday == (weekday, (day.day - 1) // 7 + 1)
        if weekday in spec.values or last_of_its_kind or nth_of_its_kind:
            days.append(day.day)
    return days
