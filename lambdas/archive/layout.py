"""What the archive writes, as a pure function of a payload's records (no AWS).

**Partitions** are by event time, the record's ``ts`` in UTC:
``dt=YYYY-MM-DD/hour=HH/``. A payload whose records span several hours makes one object
per hour.

**Object keys** come from the shard and the stream positions of the hour's records::

    <prefix>dt=2025-11-23/hour=12/<shardId>/<first seq>-<first sub>_<last seq>-<last sub>.jsonl.gz

where first and last are the lowest and highest (sequence number, sub-sequence number) of
the records in that object (a null sub-sequence number is written 0). The same payload
therefore always names the same objects, and a re-invocation overwrites them.

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
from dataclasses import dataclass
from datetime import UTC, datetime

from lambdas.shared.worker_payload import DecodedRecord, WorkerRecord

_ONE_LINE = bytes.maketrans(b"\r\n", b"  ")
GZIP_LEVEL = 6


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
    return (f"{prefix}{partition}{shard_id}/"
            f"{first.sequence_number}-{first.sub_sequence_number or 0}_"
            f"{last.sequence_number}-{last.sub_sequence_number or 0}.jsonl.gz")


def gzip_lines(records: list[WorkerRecord]) -> bytes:
    return gzip.compress(b"".join(json_line(record.data) for record in records),
                         compresslevel=GZIP_LEVEL, mtime=0)


def archive_objects(shard_id: str, decoded: list[DecodedRecord], *,
                    prefix: str = "") -> list[ArchiveObject]:
    """The objects of one payload: one per event hour, records in stream order. A record
    handed over twice in one payload (same position) is written once."""
    by_hour: dict[str, dict[tuple[int, int], WorkerRecord]] = defaultdict(dict)
    for item in decoded:
        by_hour[partition_of(item.telemetry.ts)].setdefault(item.record.position, item.record)
    objects = []
    for partition in sorted(by_hour):
        records = [by_hour[partition][position] for position in sorted(by_hour[partition])]
        objects.append(ArchiveObject(key=object_key(prefix, partition, shard_id, records),
                                     body=gzip_lines(records), records=len(records)))
    return objects


__all__ = ["ArchiveObject", "archive_objects", "gzip_lines", "json_line", "object_key",
           "partition_of"]
