"""Partial items: one shard window's readings of one device-minute, in the aggregates table.

==============  ==========================  =================================================
item            PK                          SK
==============  ==========================  =================================================
partial         ``D#<device>``              ``P#<minute>#<shard>#<window start, epoch s>``
                                            ``[#<segment>][~<chunk>]``
==============  ==========================  =================================================

Attributes: ``kind=partial``, ``device_id``, ``bucket`` (the minute, epoch seconds),
``shard_id``, ``window_start``, ``segment`` (when the window was flushed in pieces, see
``aggregates.py``), ``sites``, ``metrics`` and ``readings`` (the cell text of
``readings.py``) and ``count`` (readings in the item). A partial is keyed by (device,
minute, shard, arrival window): replaying a window rewrites the same item.

Every partial of a device-minute shares its partition key and the SK prefix
``P#<minute>#``, so one Query reads them all, and their stream records reach the rollup
in order on one stream shard. A cell whose readings would not fit one item (400 KB) is
split at reading boundaries into chunks ``~1``, ``~2``, … (chunk 0 has no suffix): a
deterministic split, since a window's cell text is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lambdas.shared.aggregates import PARTIAL_KIND, PARTIAL_PREFIX, Stats, minute_label
from lambdas.shared.minute_merge import MinuteMerge, merge_minute
from lambdas.shared.readings import READING_SEPARATOR, entries_of_items

# Well under DynamoDB's 400 KB item limit, with the other attributes and the stream's
# old and new images in mind.
MAX_READINGS_TEXT = 300_000


def device_partition_key(device_id: str) -> str:
    return f"D#{device_id}"


def partial_sort_key(bucket_epoch_s: int, shard_id: str, window_start_s: int,
                     segment: str | None = None, chunk: int = 0) -> str:
    key = f"{PARTIAL_PREFIX}{minute_label(bucket_epoch_s)}#{shard_id}#{window_start_s}"
    if segment:
        key = f"{key}#{segment}"
    return f"{key}~{chunk}" if chunk else key


def split_readings(text: str, limit: int = MAX_READINGS_TEXT) -> list[str]:
    """``text`` cut at reading boundaries into pieces of at most ``limit`` characters
    (a single longer reading stays whole)."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for reading in text.split(READING_SEPARATOR):
        if current and size + len(reading) + 1 > limit:
            pieces.append(READING_SEPARATOR.join(current))
            current, size = [], 0
        current.append(reading)
        size += len(reading) + 1
    pieces.append(READING_SEPARATOR.join(current))
    return pieces


def partial_items_of_cell(device_id: str, bucket: int, compact: Sequence[Any], shard_id: str,
                          window_start_s: int, segment: str | None = None,
                          ) -> list[dict[str, Any]]:
    """The partial item(s) of one window cell (``CellWriter.to_compact()``)."""
    sites, metrics, text, _count = compact
    items = []
    for chunk, piece in enumerate(split_readings(str(text))):
        item: dict[str, Any] = {
            "PK": device_partition_key(device_id),
            "SK": partial_sort_key(bucket, shard_id, window_start_s, segment, chunk),
            "kind": PARTIAL_KIND,
            "device_id": device_id,
            "bucket": bucket,
            "shard_id": shard_id,
            "window_start": window_start_s,
            "sites": sites,
            "metrics": metrics,
            "readings": piece,
            "count": piece.count(READING_SEPARATOR) + 1 if piece else 0,
        }
        if segment:
            item["segment"] = segment
        if chunk:
            item["chunk"] = chunk
        items.append(item)
    return items


def merge_partials(items: Iterable[Mapping[str, Any]]) -> MinuteMerge:
    """Merge the partial items of one device-minute (every reading counted once)."""
    return merge_minute(entries_of_items(item for item in items
                                         if item.get("kind") == PARTIAL_KIND))


def totals_from_partials(items: Iterable[Mapping[str, Any]]
                         ) -> dict[tuple[str, str, int], Stats]:
    """Exact statistics per (device, metric, minute) from any set of partial items, each
    reading counted once: what the rollup's totals hold once it has caught up."""
    minutes: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for item in items:
        if item.get("kind") == PARTIAL_KIND:
            minutes.setdefault((str(item["device_id"]), int(item["bucket"])), []).append(item)
    totals: dict[tuple[str, str, int], Stats] = {}
    for (device_id, bucket), partials in minutes.items():
        for metric, stats in merge_partials(partials).stats().items():
            totals[(device_id, metric, bucket)] = stats
    return totals


__all__ = [
    "MAX_READINGS_TEXT",
    "device_partition_key",
    "merge_partials",
    "partial_items_of_cell",
    "partial_sort_key",
    "split_readings",
    "totals_from_partials",
]
