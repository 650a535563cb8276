"""Coordination items of the roll-ups in the aggregates table: pending-hour markers and
the scheduled rollup's lease (pure; the table's other items are in ``aggregates.py``).

After writing totals, the rollup marks each hour they belong to as pending: the item
``RU#PENDING#<n> / <hour>`` (``kind=pending``) with a fresh random ``token`` and
``marked_at`` (epoch seconds), where ``n`` is ``crc32(device) % PENDING_SHARDS`` of a
device whose total it wrote. Sharding the markers by device spreads every batch's marker
writes over ``PENDING_SHARDS`` partitions instead of one hot ``RU#PENDING`` partition; so
one hour may be marked in several shards (one marker item per (hour, shard)). The
scheduled rollup reads every shard, recomputes each pending hour once however many shards
mark it, and deletes each marker it read only if its token is still the one it read, so an
hour re-marked in the meantime (in any shard) is recomputed on the next run. The unsharded
partition ``RU#PENDING`` is legacy: nothing writes it any more, but the scheduled rollup
still reads and drains it, so markers written before the upgrade are not lost.

The scheduled rollup runs under a lease, the item ``RU#LEASE / scheduled-rollup``
(``kind=lease``, ``holder``, ``expires_at`` in epoch seconds, also the table's TTL
attribute), taken with a conditional put (no item, or an expired one) and deleted by its
holder at the end of the run: two runs never recompute at the same time, so a slow run
cannot overwrite a newer run's roll-ups with older figures. The lease outlives the
holder's invocation (its remaining time plus a margin) and Lambda ends an invocation at
its timeout, so an expired lease's holder writes nothing more.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from lambdas.shared.aggregates import hour_label

PENDING_KIND = "pending"
# Pending-hour markers: ``RU#PENDING#<n>`` for n < PENDING_SHARDS; ``RU#PENDING`` is the
# legacy unsharded partition, read (and drained) but never written.
LEGACY_PENDING_PK = "RU#PENDING"
PENDING_SHARDS = 8
LEASE_PK = "RU#LEASE"
LEASE_KIND = "lease"
SCHEDULED_ROLLUP_LEASE = "scheduled-rollup"


def pending_shard(device_id: str) -> int:
    """The pending-marker shard of a device (crc32: stable across processes)."""
    return zlib.crc32(device_id.encode()) % PENDING_SHARDS


def pending_partition_key(shard: int | None) -> str:
    """``RU#PENDING#<shard>``; ``RU#PENDING`` (the legacy partition) for None."""
    return LEGACY_PENDING_PK if shard is None else f"{LEGACY_PENDING_PK}#{shard}"


def pending_partition_keys() -> list[str]:
    """Every partition that may hold markers, the legacy one included: what a reader
    queries."""
    return [LEGACY_PENDING_PK, *(pending_partition_key(n) for n in range(PENDING_SHARDS))]


def pending_marks(totals: Iterable[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """The (hour, shard) markers announcing the given total items, sorted, once each."""
    return sorted({(hour_label(int(total["bucket"])), pending_shard(str(total["device_id"])))
                   for total in totals})


def pending_marker_item(hour: str, token: str, marked_at: int,
                        shard: int | None = None) -> dict[str, Any]:
    """The marker saying ``hour``'s roll-ups must be recomputed, in partition
    ``RU#PENDING#<shard>`` (whole-item put: a new ``token`` each time, so the scheduled
    rollup can tell a re-mark from its own read). No shard: the legacy partition, which
    the rollup no longer writes (module docstring)."""
    return {"PK": pending_partition_key(shard), "SK": hour, "kind": PENDING_KIND,
            "token": token, "marked_at": marked_at}


def lease_item(name: str, holder: str, expires_at: int) -> dict[str, Any]:
    """The lease ``name`` held by ``holder`` until ``expires_at`` (epoch seconds)."""
    return {"PK": LEASE_PK, "SK": name, "kind": LEASE_KIND, "holder": holder,
            "expires_at": expires_at}


__all__ = [
    "LEASE_KIND",
    "LEASE_PK",
    "LEGACY_PENDING_PK",
    "PENDING_KIND",
    "PENDING_SHARDS",
    "SCHEDULED_ROLLUP_LEASE",
    "lease_item",
    "pending_marker_item",
    "pending_marks",
    "pending_partition_key",
    "pending_partition_keys",
    "pending_shard",
]
