"""The dispatcher's routing table (pure): which workers get a user record.

A route names one worker and three lists of ``fnmatch`` patterns (case-sensitive, as
identifiers are): a record matches when its ``device_id`` matches one of ``devices``, its
``site`` one of ``sites`` and one of its metric names one of ``metrics``; ``["*"]`` (the
default) matches everything, a record without metrics included. A record goes to every
worker with a matching route, once per worker however many of its routes match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

ANY = ("*",)


def _any_match(values: Iterable[str], patterns: Sequence[str]) -> bool:
    if tuple(patterns) == ANY:
        return True
    return any(fnmatchcase(value, pattern) for value in values for pattern in patterns)


@dataclass(frozen=True, slots=True)
class Route:
    worker: str
    metrics: tuple[str, ...] = ANY
    sites: tuple[str, ...] = ANY
    devices: tuple[str, ...] = ANY

    def matches(self, device_id: str, site: str, metric_names: Iterable[str]) -> bool:
        return (_any_match((device_id,), self.devices) and _any_match((site,), self.sites)
                and _any_match(metric_names, self.metrics))


def workers_for(routes: Sequence[Route], device_id: str, site: str,
                metric_names: Iterable[str]) -> list[str]:
    """The workers a record goes to, each once, in the order of their first route."""
    names = tuple(metric_names)
    chosen: list[str] = []
    for route in routes:
        if route.worker not in chosen and route.matches(device_id, site, names):
            chosen.append(route.worker)
    return chosen


__all__ = ["ANY", "Route", "workers_for"]
