"""Threshold rules evaluated per device in event-time order, despite unordered delivery
(pure: no AWS). The item layout that stores this state is in ``state.py``.

**What is kept** per (device, rule): the window — the newest ``W`` readings of the rule's
metric, ordered by event time ``(ts, boot, seq)`` and deduplicated by that key — and the
episodes that still overlap it. ``W`` is ``ALERT_WINDOW`` (at least ``2 * for``).

**What an episode is.** Over the window in event-time order, a *run* is a maximal
sequence of consecutive readings for which the rule holds; a run of at least ``for``
readings *qualifies*. An episode is raised for each qualifying run and resolved by the
first reading after the run for which the rule does not hold. Every invocation merges its
readings into the window and re-evaluates the whole window, so a late reading inside the
window counts exactly where its event time puts it:

* readings delivered in any order, or twice, give the same runs, hence the same episodes
  and the same messages, once every reading has arrived;
* a late reading that extends a run (before or inside it) keeps its episode;
* a late reading that *splits* a run of an episode already raised cannot un-raise it (an
  alert is never retracted): the episode stays with the part that holds its anchor (the
  reading it was raised from) if that part qualifies, else with the earliest qualifying
  part overlapping it, and is resolved where that part ends; other qualifying parts are
  new episodes (what in-order delivery would have raised too). When no part qualifies
  any longer, the episode is resolved at the first reading after its start for which the
  rule does not hold — the one case where out-of-order delivery sends more than in-order
  delivery would;
* a reading older than every reading of a full window is *beyond the horizon*: it was
  decided without it and it is ignored (counted, logged). Runs never merge (readings are
  only added, and the reading separating two runs stays), so two episodes' anchors never
  fall in one run.

An episode's id is ``<device>/<rule>/<ts>-<boot>-<seq>`` of its first reading when raised:
fixed from then on. Each decision is one message for the outbox (``outbox.py``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from lambdas.alerts.config import Rule

Key = tuple[int, int, int]  # (ts, boot, seq): event-time order of a device's readings
RAISED, RESOLVED = "raised", "resolved"
_encoder = msgspec.json.Encoder(decimal_format="number")


@dataclass(frozen=True, slots=True)
class Point:
    """One reading of the rule's metric."""

    ts: int
    boot: int
    seq: int
    value: Decimal
    site: str

    @property
    def key(self) -> Key:
        return self.ts, self.boot, self.seq


@dataclass(frozen=True, slots=True)
class Episode:
    episode_id: str
    anchor: Key  # first reading of its run when raised: fixed, names the episode
    start: Key  # first reading of its run (moves earlier when late readings extend it)
    last: Key  # last reading of its run, as far as seen
    resolved_by: Key | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One alert to publish: the body is fixed when decided, so a retry sends the same."""

    message_id: str  # <episode id>/<event>
    event: str
    attributes: dict[str, str]
    body: str
    order: tuple[int, ...]  # publish order: episode start, then raised before resolved


@dataclass(frozen=True, slots=True)
class RuleState:
    points: tuple[Point, ...] = ()
    episodes: tuple[Episode, ...] = ()
    site: str = ""


@dataclass(slots=True)
class Evaluation:
    state: RuleState
    messages: list[Message] = field(default_factory=list)
    duplicates: int = 0
    beyond_horizon: int = 0


@dataclass(frozen=True, slots=True)
class _Run:
    points: tuple[Point, ...]
    ended_by: Point | None

    @property
    def first(self) -> Key:
        return self.points[0].key

    @property
    def last(self) -> Key:
        return self.points[-1].key


def merge(state: RuleState, points: list[Point], window: int) -> Evaluation:
    """Add readings to the window: duplicates and readings beyond the horizon are counted,
    not added; the window keeps its newest ``window`` readings."""
    known = {point.key for point in state.points}
    full = len(state.points) >= window
    horizon = state.points[0].key if state.points else None
    result = Evaluation(state)
    merged = list(state.points)
    for point in points:
        if point.key in known:
            result.duplicates += 1
        elif full and horizon is not None and point.key < horizon:
            result.beyond_horizon += 1
        else:
            known.add(point.key)
            bisect.insort(merged, point, key=lambda p: p.key)
    kept = tuple(merged[-window:])
    result.state = replace(state, points=kept, site=kept[-1].site if kept else state.site)
    return result


def runs(points: tuple[Point, ...], rule: Rule) -> list[_Run]:
    """The maximal runs of readings for which the rule holds, each with the reading that
    ended it (None: the run reaches the newest reading)."""
    found: list[_Run] = []
    current: list[Point] = []
    for point in points:
        if rule.holds(point.value):
            current.append(point)
        elif current:
            found.append(_Run(tuple(current), point))
            current = []
    if current:
        found.append(_Run(tuple(current), None))
    return found


def evaluate(state: RuleState, rule: Rule, device_id: str, points: list[Point],
             window: int) -> Evaluation:
    """Merge ``points`` and re-evaluate the window; the messages of every new decision."""
    result = merge(state, points, window)
    window_points = result.state.points
    episodes = sorted(result.state.episodes, key=lambda episode: episode.anchor)
    qualifying = [run for run in runs(window_points, rule) if len(run.points) >= rule.for_count]
    matches = match_runs(episodes, qualifying)
    for run_index, run in enumerate(qualifying):
        index = matches.get(run_index)
        if index is None:
            episode = _new_episode(device_id, rule, run, episodes)
            result.messages.append(_message(RAISED, episode, rule, device_id, run.points))
            index = len(episodes)
            episodes.append(episode)
        episode = episodes[index]
        episode = replace(episode, start=min(episode.start, run.first),
                          last=max(episode.last, run.last))
        if run.ended_by is not None and episode.resolved_by is None:
            episode = replace(episode, resolved_by=run.ended_by.key)
            result.messages.append(_message(RESOLVED, episode, rule, device_id,
                                            (*run.points, run.ended_by)))
        episodes[index] = episode
    matched = set(matches.values())
    for index, episode in enumerate(episodes[:len(result.state.episodes)]):
        if index not in matched and episode.resolved_by is None:
            episodes[index] = _resolve_broken(episode, rule, device_id, window_points, result)
    horizon = window_points[0].key if window_points else None
    kept = tuple(episode for episode in episodes if not _behind(episode, horizon))
    result.state = replace(result.state, episodes=kept)
    return result


def match_runs(episodes: list[Episode], qualifying: list[_Run]) -> dict[int, int]:
    """Which stored episode each qualifying run continues (run index → episode index):
    first the run that holds the episode's anchor (the reading it was raised from), else
    the earliest still unmatched run that overlaps the episode's span."""
    matches: dict[int, int] = {}
    taken: set[int] = set()
    for index, episode in enumerate(episodes):
        for run_index, run in enumerate(qualifying):
            if run_index not in matches and run.first <= episode.anchor <= run.last:
                matches[run_index] = index
                taken.add(index)
                break
    for index, episode in enumerate(episodes):
        if index in taken:
            continue
        for run_index, run in enumerate(qualifying):
            if run_index not in matches and episode.start <= run.last \
                    and run.first <= episode.last:
                matches[run_index] = index
                break
    return matches


def _new_episode(device_id: str, rule: Rule, run: _Run, episodes: list[Episode]) -> Episode:
    ts, boot, seq = run.first
    episode_id = f"{device_id}/{rule.name}/{ts}-{boot}-{seq}"
    known = {episode.episode_id for episode in episodes}
    suffix = 1
    unique = episode_id
    while unique in known:  # defensive: runs never merge, so anchors stay apart
        suffix += 1
        unique = f"{episode_id}+{suffix}"
    return Episode(unique, run.first, run.first, run.last)


def _resolve_broken(episode: Episode, rule: Rule, device_id: str,
                    points: tuple[Point, ...], result: Evaluation) -> Episode:
    """An episode raised before a late reading split its run below ``for``: resolved at
    the first reading after its start for which the rule does not hold."""
    inside = [point for point in points if episode.start <= point.key]
    for offset, point in enumerate(inside):
        if not rule.holds(point.value):
            resolved = replace(episode, resolved_by=point.key)
            result.messages.append(_message(RESOLVED, resolved, rule, device_id,
                                            tuple(inside[:offset + 1])))
            return resolved
    return episode


def _behind(episode: Episode, horizon: Key | None) -> bool:
    """Resolved before the window's oldest reading: nothing can match it again."""
    return (horizon is not None and episode.resolved_by is not None
            and episode.resolved_by < horizon)


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _message(event: str, episode: Episode, rule: Rule, device_id: str,
             points: tuple[Point, ...]) -> Message:
    first, last = points[0], points[-1]
    site = last.site
    body: dict[str, Any] = {
        "event": event, "device": device_id, "site": site, "rule": rule.name,
        "severity": rule.severity, "metric": rule.metric, "op": rule.op,
        "threshold": rule.threshold, "for": rule.for_count, "episode_id": episode.episode_id,
        "values": [point.value for point in points],
        "first_ts": first.ts, "first_event_time": _iso(first.ts),
        "last_ts": last.ts, "last_event_time": _iso(last.ts),
    }
    if event == RESOLVED:
        body["resolved_by"] = {"ts": last.ts, "boot": last.boot, "seq": last.seq,
                               "value": last.value}
    attributes = {"device": device_id, "site": site, "rule": rule.name,
                  "severity": rule.severity, "event": event}
    return Message(message_id=f"{episode.episode_id}/{event}", event=event,
                   attributes=attributes, body=_encoder.encode(body).decode(),
                   order=(*episode.start, 0 if event == RAISED else 1))


__all__ = ["RAISED", "RESOLVED", "Episode", "Evaluation", "Key", "Message", "Point",
           "RuleState", "evaluate", "merge", "runs"]
