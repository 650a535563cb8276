"""Quarantine items for the losing versions of a conflict (pure).

A conflict is one reading identity (device_id, boot, seq) seen in one minute with
different content (``minute_merge.py``). The rollup keeps one version and writes each
other version to the quarantine table, next to the records the aggregator rejected
(``lambdas/shared/quarantine.py``), so ``shardline quarantine list`` shows it:

==========  =========================================  ===============================
item        PK                                         SK
==========  =========================================  ===============================
conflict    ``C#<device>#<boot>#<seq>``                ``V#<sha-256 of the version,
                                                       16 hex digits>``
==========  =========================================  ===============================

The key is a pure function of the losing version, so recomputing the minute rewrites the
same item. ``data_b64`` holds the version re-encoded as a v1 record (the fields the
contract defines; unknown fields were already dropped); ``shard_id`` and
``sequence_number`` are empty, because the copies of a reading may come from several
Kinesis records.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import msgspec

from lambdas.shared.aggregates import minute_label
from lambdas.shared.readings import ReadingEntry

SECONDS_PER_DAY = 86_400
CONFLICT_PREFIX = "C#"
_encoder = msgspec.json.Encoder(decimal_format="number")


def version_bytes(device_id: str, entry: ReadingEntry) -> bytes:
    """The version as a v1 record (compact JSON, values as the exact numbers sent)."""
    record: dict[str, Any] = {"v": 1, "device_id": device_id, "site": entry.site,
                              "ts": entry.ts_ms, "seq": entry.seq}
    if entry.boot:
        record["boot"] = entry.boot
    record["metrics"] = dict(entry.values)
    return _encoder.encode(record)


def conflict_item(device_id: str, loser: ReadingEntry, *, now_s: float,
                  retention_days: int) -> dict[str, Any]:
    """The quarantine item (resource-level types) of one losing version."""
    data = version_bytes(device_id, loser)
    digest = hashlib.sha256(data).hexdigest()[:16]
    return {
        "PK": f"{CONFLICT_PREFIX}{device_id}#{loser.boot}#{loser.seq}",
        "SK": f"V#{digest}",
        "kind": "quarantined",
        "reason": (f"conflict: reading (device {device_id}, boot {loser.boot}, seq "
                   f"{loser.seq}) arrived in minute {minute_label(loser.ts_ms // 1000)} "
                   "with other content; another version was kept, this one not counted"),
        "shard_id": "",
        "sequence_number": "",
        "partition_key": device_id,
        "device_id": device_id,
        "boot": loser.boot,
        "seq": loser.seq,
        "data_b64": base64.b64encode(data).decode("ascii"),
        "data_bytes": len(data),
        "data_truncated": False,
        "quarantined_at": int(now_s),
        "expires_at": int(now_s) + retention_days * SECONDS_PER_DAY,
    }


__all__ = ["conflict_item", "version_bytes"]
