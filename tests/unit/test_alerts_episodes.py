"""Alert episodes as pure logic (``lambdas.alerts.episodes``): the same readings in any
order, delivered any number of times, make the same decisions as in-order delivery."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import pytest

from lambdas.alerts.config import parse_rules
from lambdas.alerts.episodes import Point, RuleState, evaluate, runs
from tests.factories.alerts import COLD, HOT, OVERHEAT, rules_json

RULE = parse_rules(rules_json(OVERHEAT))[0]  # temperature_c > 80 for 3
BIG_WINDOW = 1_000


def point(index: int, value: float) -> Point:
    return Point(ts=1_763_899_980_000 + index * 1000, boot=0, seq=index,
                 value=Decimal(value), site="plant-a")


def deliver(values: list[float], order: list[int], window: int = BIG_WINDOW):
    """Evaluate one reading at a time in ``order``; every message decided, in order."""
    state, messages = RuleState(), []
    for index in order:
        evaluation = evaluate(state, RULE, "dev-1", [point(index, values[index])], window)
        state = evaluation.state
        messages += evaluation.messages
    return state, messages


def random_series(rng: random.Random, *, qualifying_only: bool) -> list[float]:
    lengths = [0, 3, 4, 5, 7] if qualifying_only else [0, 1, 2, 3, 4, 6]
    values: list[float] = []
    for _ in range(rng.randint(1, 6)):
        values += [COLD] * rng.randint(1, 3) + [HOT] * rng.choice(lengths)
    return values


@pytest.mark.parametrize("seed", range(200))
def test_any_delivery_order_decides_what_in_order_delivery_decides(seed):
    # GIVEN a series whose stretches of hot readings are empty or qualify (for >= 3)
    rng = random.Random(seed)
    values = random_series(rng, qualifying_only=True)
    order = list(range(len(values))) * 2
    rng.shuffle(order)
    # WHEN delivered in order, and shuffled with every reading twice
    _, in_order = deliver(values, list(range(len(values))))
    _, shuffled = deliver(values, order)
    # THEN the same number of episodes is raised and resolved
    assert Counter(m.event for m in shuffled) == Counter(m.event for m in in_order)


@pytest.mark.parametrize("seed", range(200))
def test_each_episode_is_raised_once_then_resolved_at_most_once(seed):
    # GIVEN any series (short stretches too), shuffled, every reading twice
    rng = random.Random(seed)
    values = random_series(rng, qualifying_only=False)
    order = list(range(len(values))) * 2
    rng.shuffle(order)
    # WHEN delivered
    state, messages = deliver(values, order)
    # THEN per episode: one raised, then at most one resolved; only the last may stay open
    per_episode: dict[str, list[str]] = {}
    for message in messages:
        per_episode.setdefault(message.message_id.rsplit("/", 1)[0], []).append(message.event)
    assert all(events in (["raised"], ["raised", "resolved"])
               for events in per_episode.values())
    assert sum(1 for e in state.episodes if e.resolved_by is None) <= 1
    if values[-1] == COLD:
        assert all(e.resolved_by is not None for e in state.episodes)


def test_a_redelivered_reading_changes_nothing():
    # GIVEN a state after three hot readings
    values = [HOT, HOT, HOT]
    state, _ = deliver(values, [0, 1, 2])
    # WHEN one of them arrives again / THEN the same state and no message
    evaluation = evaluate(state, RULE, "dev-1", [point(1, HOT)], BIG_WINDOW)
    assert evaluation.state == state and evaluation.messages == []
    assert evaluation.duplicates == 1


def test_runs_split_on_readings_for_which_the_rule_does_not_hold():
    # GIVEN readings hot, hot, cold, hot (80 itself does not exceed 80)
    points = tuple(point(i, v) for i, v in enumerate([HOT, HOT, 80, HOT]))
    # WHEN split into runs / THEN two runs, the first ended by the 80
    found = runs(points, RULE)
    assert [len(run.points) for run in found] == [2, 1]
    assert found[0].ended_by == points[2] and found[1].ended_by is None


def test_the_window_keeps_the_newest_readings_and_refuses_older_ones_when_full():
    # GIVEN a full window of 6 readings
    state, _ = deliver([COLD] * 10, list(range(4, 10)), window=6)
    # WHEN an older reading and a newer one arrive
    evaluation = evaluate(state, RULE, "dev-1", [point(1, HOT), point(10, HOT)], 6)
    # THEN the older one is beyond the horizon; the newer one pushes the oldest out
    assert evaluation.beyond_horizon == 1
    assert [p.seq for p in evaluation.state.points] == [5, 6, 7, 8, 9, 10]
