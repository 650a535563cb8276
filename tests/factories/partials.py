"""Builders of partial items (``lambdas/shared/partials.py``) straight from values.

``partial_of(key, ["20.1", "20.3"], "shard-0", window)`` is the partial a window of
``key.device_id`` would write holding those readings of ``key.metric`` in ``key.bucket``.
Each reading gets a fresh sequence number unless ``seqs`` names them, so two partials
built without ``seqs`` never share a reading; give the same ``seqs`` to build copies.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from lambdas.shared.aggregates import BucketKey
from lambdas.shared.partials import partial_items_of_cell
from lambdas.shared.readings import CellWriter, ReadingEntry

_fresh_seq = itertools.count(1_000_000)


def reading(key: BucketKey, value: str, *, seq: int | None = None, boot: int = 0,
            offset_ms: int = 0, site: str | None = None) -> ReadingEntry:
    """One reading of ``key.metric`` in ``key``'s minute."""
    return ReadingEntry.of(boot=boot, seq=next(_fresh_seq) if seq is None else seq,
                           ts_ms=key.bucket * 1000 + offset_ms,
                           site=key.site if site is None else site,
                           metrics={key.metric: Decimal(value)})


def partial_from_entries(device_id: str, bucket: int, entries: Sequence[ReadingEntry],
                         shard_id: str = "shard-0", window_start_s: int = 0,
                         segment: str | None = None) -> dict[str, Any]:
    writer = CellWriter(bucket)
    for entry in entries:
        writer.append(entry)
    (item,) = partial_items_of_cell(device_id, bucket, writer.to_compact(), shard_id,
                                    window_start_s, segment)
    return item


def partial_of(key: BucketKey, values: Sequence[str], shard_id: str = "shard-0",
               window_start_s: int = 0, segment: str | None = None, *,
               seqs: Sequence[int] | None = None) -> dict[str, Any]:
    """The partial of one window holding ``values`` of ``key.metric``: one reading each,
    at ``seq`` milliseconds into the minute (so equal ``seqs`` make identical copies)."""
    seqs = list(seqs) if seqs is not None else [next(_fresh_seq) for _ in values]
    entries = [reading(key, value, seq=seq, offset_ms=seq % 60_000)
               for value, seq in zip(values, seqs, strict=True)]
    return partial_from_entries(key.device_id, key.bucket, entries, shard_id,
                                window_start_s, segment)


__all__ = ["partial_from_entries", "partial_of", "reading"]
