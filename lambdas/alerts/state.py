"""The alert state item of one (device, rule) in ``ALERT_STATE_TABLE`` (pure mapping).

==========  ===============  =================  ==========================================
item        PK               SK                 attributes
==========  ===============  =================  ==========================================
rule state  ``D#<device>``   ``A#<rule name>``  ``version`` (N, optimistic concurrency),
                                                ``metric``, ``site`` (of the newest
                                                reading), ``points``, ``episodes``,
                                                ``outbox``, ``updated_at`` (epoch s)
==========  ===============  =================  ==========================================

* ``points``: list of ``[ts, boot, seq, value, site]``, the window in event-time order
  (at most ``ALERT_WINDOW`` entries, about 60 bytes each);
* ``episodes``: list of ``{id, anchor, start, last, resolved_by}`` with keys as
  ``[ts, boot, seq]`` (``resolved_by`` null while open); only episodes that still reach
  into the window are kept;
* ``outbox``: map from message id (``<episode id>/raised|resolved``) to ``{event,
  attributes, body, order, claim, claimed_until}``, the messages decided and not yet
  known to be published (``outbox.py``).

All of a device's rules share its partition; every item stays far below 400 KB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lambdas.alerts.episodes import Episode, Key, Message, Point, RuleState
from lambdas.alerts.outbox import Outbox, OutboxEntry

DEVICE_PREFIX = "D#"
RULE_PREFIX = "A#"


@dataclass(frozen=True, slots=True)
class StoredState:
    """A rule state as read (``version`` 0: no item yet) or about to be written."""

    rule: RuleState = field(default_factory=RuleState)
    outbox: Outbox = field(default_factory=dict)
    version: int = 0


def state_key(device_id: str, rule_name: str) -> dict[str, str]:
    return {"PK": f"{DEVICE_PREFIX}{device_id}", "SK": f"{RULE_PREFIX}{rule_name}"}


def to_item(device_id: str, rule_name: str, metric: str, stored: StoredState,
            now_s: float) -> dict[str, Any]:
    """The whole item (resource-level values) of ``stored``."""
    rule = stored.rule
    return {
        **state_key(device_id, rule_name),
        "version": stored.version, "metric": metric, "site": rule.site,
        "points": [[p.ts, p.boot, p.seq, p.value, p.site] for p in rule.points],
        "episodes": [{"id": e.episode_id, "anchor": list(e.anchor), "start": list(e.start),
                      "last": list(e.last),
                      "resolved_by": None if e.resolved_by is None else list(e.resolved_by)}
                     for e in rule.episodes],
        "outbox": {message_id: _entry_item(entry) for message_id, entry in stored.outbox.items()},
        "updated_at": int(now_s),
    }


def from_item(item: dict[str, Any]) -> StoredState:
    points = tuple(Point(int(ts), int(boot), int(seq), Decimal(value), str(site))
                   for ts, boot, seq, value, site in item.get("points", []))
    episodes = tuple(Episode(episode["id"], _key(episode["anchor"]), _key(episode["start"]),
                             _key(episode["last"]),
                             None if episode.get("resolved_by") is None
                             else _key(episode["resolved_by"]))
                     for episode in item.get("episodes", []))
    outbox = {message_id: _entry(message_id, raw)
              for message_id, raw in item.get("outbox", {}).items()}
    return StoredState(rule=RuleState(points=points, episodes=episodes,
                                      site=str(item.get("site", ""))),
                       outbox=outbox, version=int(item["version"]))


def _key(raw: list[Any]) -> Key:
    ts, boot, seq = raw
    return int(ts), int(boot), int(seq)


def _entry_item(entry: OutboxEntry) -> dict[str, Any]:
    message = entry.message
    return {"event": message.event, "attributes": dict(message.attributes),
            "body": message.body, "order": list(message.order), "claim": entry.claim,
            "claimed_until": entry.claimed_until}


def _entry(message_id: str, raw: dict[str, Any]) -> OutboxEntry:
    message = Message(message_id=message_id, event=raw["event"],
                      attributes={k: str(v) for k, v in raw["attributes"].items()},
                      body=raw["body"], order=tuple(int(part) for part in raw["order"]))
    return OutboxEntry(message, claim=raw.get("claim", ""),
                       claimed_until=int(raw.get("claimed_until", 0)))


__all__ = ["StoredState", "from_item", "state_key", "to_item"]
