"""What the archive writes, as a pure function of a payload's records (no AWS).

**Partitions** are by event time, the record's ``ts`` in UTC:
``dt=YYYY-MM-DD/hour=HH/``. A payload whose records span several hours makes one object
per hour.

**Object keys** come from the shard and the stream positions of the hour's records::

    <prefix>dt=2025-11-23/hour=12/<shardId>/<first seq>-<first sub>_<last seq>-<last sub>.jsonl.gz

where first and last are the lowest and highest (sequence number, sub-sequence number) of
the records in that object (a null sub-sequence number is written 0). The same payload
therefore always names the same objects, and a re-invocation overwrites them.

**Records already archived are not written again.** A payload is a contiguous run of the
shard's records bound for the archive (the dispatcher packs them in stream order), so an
object's key range holds every record of its hour that lies in the range. When the
dispatcher re-sends records in other payloads (its batch retried whole, bisected, or
from the lowest failed record on), the new payload overlaps objects already written. The
handler lists the (hour, shard) prefix first; ``archive_objects`` drops every record whose
position lies in an existing object's range and writes the rest under their own first and
last positions. By induction every record in any object's range is archived in exactly
one object. (Two *different* overlapping payloads archived at the very same moment can
both miss each other's object; a re-delivered payload cannot, it names its own object.)

**Bytes** are deterministic too: records are sorted by stream position (payloads come in
any order; so may the records inside one), one line each, and gzipped with ``mtime=0``
and no file name, so a re-invocation writes the very same bytes.

**Lines** are each record's original JSON text, nothing added, so Athena reads the
telemetry fields directly (docs/archive.md). The one change: a raw CR or LF byte, which in
valid JSON can only be whitespace between tokens (inside strings they are escaped), is
written as a space so each record stays on one line; compact records (every producer of
shardline writes them) are byte for byte what the device sent. The stream position is in
the key, and Athena exposes it per row as ``"$path"``.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lambdas.shared.worker_payload import DecodedRecord, WorkerRecord

_ONE_LINE = bytes.maketrans(b"\r\n", b"  ")
GZIP_LEVEL = 6
KEY_SUFFIX = ".jsonl.gz"

Position = tuple[int, int]  # (sequence number, sub-sequence number or 0)
Range = tuple[Position, Position]  # first and last position of an object's records


@dataclass(frozen=True, slots=True)
class ArchiveObject:
    key: str
    body: bytes  # gzipped JSON Lines
    records: int


def partition_of(ts_ms: int) -> str:
    """The ``dt=…/hour=…/`` partition of an event time (ms since the epoch, UTC)."""
    moment = datetime.fromtimestamp(ts_ms // 1000, tz=UTC)
    return f"dt={moment:%Y-%m-%d}/hour={moment:%H}/"


def json_line(data: bytes) -> bytes:
    """One record's JSON on one line (see the module docstring)."""
    return data.translate(_ONE_LINE).strip() + b"\n"


def object_key(prefix: str, partition: str, shard_id: str,
               records: list[WorkerRecord]) -> str:
    first, last = records[0], records[-1]
    return (f"{object_folder(prefix, partition, shard_id)}"
            f"{first.sequence_number}-{first.sub_sequence_number or 0}_"
            f"{last.sequence_number}-{last.sub_sequence_number or 0}{KEY_SUFFIX}")


def object_folder(prefix: str, partition: str, shard_id: str) -> str:
    """The folder of one (hour, shard): every object of it is listed to find ranges."""
    return f"{prefix}{partition}{shard_id}/"


def range_of(key: str) -> Range | None:
    """The (first, last) positions an object key names; None for a key of another form."""
    name = key.rsplit("/", 1)[-1]
    if not name.endswith(KEY_SUFFIX):
        return None
    try:
        first, last = name.removesuffix(KEY_SUFFIX).split("_")
        (seq_a, sub_a), (seq_b, sub_b) = first.split("-"), last.split("-")
        return (int(seq_a), int(sub_a)), (int(seq_b), int(sub_b))
    except ValueError:
        return None


def _covered(position: Position, ranges: Sequence[Range]) -> bool:
    return any(first <= position <= last for first, last in ranges)


def gzip_lines(records: list[WorkerRecord]) -> bytes:
    return gzip.compress(b"".join(json_line(record.data) for record in records),
                         compresslevel=GZIP_LEVEL, mtime=0)


def partitions(decoded: list[DecodedRecord]) -> list[str]:
    """The event-hour partitions of a payload's records, in order."""
    return sorted({partition_of(item.telemetry.ts) for item in decoded})


def archive_objects(shard_id: str, decoded: list[DecodedRecord], *, prefix: str = "",
                    archived: Mapping[str, Sequence[Range]] | None = None,
                    ) -> list[ArchiveObject]:
    """The objects of one payload: one per event hour, records in stream order, less the
    records within ``archived`` ranges (partition -> ranges of the objects already in its
    folder for this shard). A record handed over twice in one payload is written once."""
    by_hour: dict[str, dict[Position, WorkerRecord]] = defaultdict(dict)
    for item in decoded:
        by_hour[partition_of(item.telemetry.ts)].setdefault(item.record.position, item.record)
    objects = []
    for partition in sorted(by_hour):
        ranges = (archived or {}).get(partition, ())
        records = [by_hour[partition][position] for position in sorted(by_hour[partition])
                   if not _covered(position, ranges)]
        if records:
            objects.append(ArchiveObject(key=object_key(prefix, partition, shard_id, records),
                                         body=gzip_lines(records), records=len(records)))
    return objects


__all__ = ["ArchiveObject", "Range", "archive_objects", "gzip_lines", "json_line",
           "object_folder", "object_key", "partition_of", "partitions", "range_of"]
