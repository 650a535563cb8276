"""Time ranges of a query: relative (``15m`` ago) or ISO 8601 instants, and intervals.

An instant is either a duration before "now" (``90s``, ``15m``, ``2h``, ``7d``), an ISO
8601 date or date-time (``2026-01-01``, ``2026-01-01T10:00``, ``2026-01-01T10:00:00Z``,
``2026-01-01T12:00+02:00``; no offset means UTC), or a ``datetime`` (naive means UTC).
A range is half-open, [since, until): ``since=2026-01-01T10:00, until=2026-01-01T11:00``
is exactly twelve 5-minute periods. An interval string ``<since>/<until>`` (ISO 8601's
form) takes either kind on each side: ``2026-01-01T10:00Z/2026-01-01T11:00Z``, ``2h/1h``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from shardline.query.errors import EmptyRangeError, QueryError

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``2h``, ``7d`` → seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise QueryError(f"invalid duration {text!r}: use a number and s, m, h or d "
                         "(e.g. 15m)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_instant(value: str | datetime, now_s: float, *, name: str = "time") -> float:
    """Epoch seconds of a relative duration before ``now_s``, an ISO 8601 text or a
    datetime; a one-line QueryError naming ``name`` otherwise."""
    if isinstance(value, datetime):
        return _epoch(value)
    text = str(value).strip()
    if _DURATION.match(text):
        return now_s - parse_duration(text)
    try:
        # Python 3.11's fromisoformat reads "Z" and every ISO 8601 form used above.
        return _epoch(datetime.fromisoformat(text))
    except ValueError:
        raise QueryError(f"invalid {name} {text!r}: give a duration ago (15m, 2h, 7d) or an "
                         "ISO 8601 time (2026-01-01T10:00Z)") from None


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class TimeRange:
    """[since_s, until_s) in epoch seconds."""

    since_s: float
    until_s: float

    @classmethod
    def parse(cls, since: str | datetime | None, until: str | datetime | None, now_s: float,
              *, interval: str | None = None) -> TimeRange:
        """From ``since``/``until`` (until defaults to now) or an ``interval``
        ``<since>/<until>``; EmptyRangeError when it holds no time."""
        if interval is not None:
            if since is not None or until is not None:
                raise QueryError("give either a range <since>/<until> or since/until, not both")
            parts = interval.split("/")
            if len(parts) != 2 or not all(part.strip() for part in parts):
                raise QueryError(f"invalid range {interval!r}: expected <since>/<until>, e.g. "
                                 "2026-01-01T10:00Z/2026-01-01T11:00Z")
            since, until = parts
        if since is None:
            raise QueryError("a query needs a start (since), e.g. 1h or 2026-01-01T10:00Z")
        since_s = parse_instant(since, now_s, name="since")
        until_s = now_s if until is None else parse_instant(until, now_s, name="until")
        if until_s <= since_s:
            raise EmptyRangeError(
                f"empty time range: until ({label(until_s)}) is not after since "
                f"({label(since_s)})")
        return cls(since_s, until_s)

    @property
    def since(self) -> datetime:
        return datetime.fromtimestamp(self.since_s, UTC)

    @property
    def until(self) -> datetime:
        return datetime.fromtimestamp(self.until_s, UTC)

    def periods(self, resolution_s: int) -> int:
        """How many periods of ``resolution_s`` the range overlaps."""
        first = int(self.since_s) // resolution_s
        last = (_last_second(self.until_s)) // resolution_s
        return last - first + 1

    @property
    def last_second(self) -> int:
        """The last whole second inside the range (readers take inclusive bounds)."""
        return _last_second(self.until_s)


def _last_second(until_s: float) -> int:
    whole = int(until_s)
    return whole - 1 if whole == until_s else whole


def label(epoch_s: float) -> str:
    """``2026-01-01T10:00:00Z``: how times are shown."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["TimeRange", "label", "parse_duration", "parse_instant"]
