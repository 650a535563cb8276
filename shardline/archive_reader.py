"""Reading the raw archive: which objects an hour holds, and their JSON lines.

The archive worker writes gzipped JSON Lines partitioned by event hour (docs/archive.md)::

    <prefix>dt=YYYY-MM-DD/hour=HH/<shardId>/<first seq>-<first sub>_<last seq>-<last sub>.jsonl.gz

so an hour is one key prefix: listing it needs one ListObjectsV2 (paged), never a scan of
the bucket. Sizes and times come from the listing; counting records would mean reading
every object, so it is not offered. ``lines`` decompresses an hour's objects in key order
(shard, then stream position) and yields each line, optionally only one device's.
"""

from __future__ import annotations

import calendar
import gzip
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shardline.errors import ShardlineError

HOUR_S = 3600
MAX_HOURS = 31 * 24  # --since covers at most a month of hourly prefixes
HOUR_FORMAT = "%Y-%m-%dT%H"
_HOUR_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}$")
_KEY = re.compile(r"dt=(?P<dt>\d{4}-\d{2}-\d{2})/hour=(?P<hour>\d{2})/(?P<shard>[^/]+)/"
                  r"(?P<first>\d+-\d+)_(?P<last>\d+-\d+)\.jsonl\.gz$")


def parse_hour(text: str) -> int:
    """Start (epoch seconds, UTC) of the hour ``YYYY-MM-DDTHH``; ``ShardlineError`` (one
    line) when malformed."""
    try:
        if not _HOUR_TEXT.match(text):
            raise ValueError(text)
        return calendar.timegm(time.strptime(text, HOUR_FORMAT))
    except ValueError:
        raise ShardlineError(f"invalid --hour {text!r}: use YYYY-MM-DDTHH (UTC), e.g. "
                             "2026-11-30T14") from None


def hour_label(hour_s: int) -> str:
    return time.strftime(HOUR_FORMAT, time.gmtime(hour_s))


def hour_prefix(prefix: str, hour_s: int) -> str:
    """The key prefix of one event hour: ``<prefix>dt=YYYY-MM-DD/hour=HH/``."""
    return f"{prefix}{time.strftime('dt=%Y-%m-%d/hour=%H/', time.gmtime(hour_s))}"


def hours_since(since_s: float, now_s: float) -> list[int]:
    """Every hour from the one holding ``now - since`` up to the current one."""
    if since_s <= 0:
        raise ShardlineError("--since must be longer than zero")
    first, last = int(now_s - since_s) // HOUR_S, int(now_s) // HOUR_S
    if last - first + 1 > MAX_HOURS:
        raise ShardlineError(f"--since covers {last - first + 1} hours; at most {MAX_HOURS} "
                             "(list older hours one by one with --hour)")
    return [hour * HOUR_S for hour in range(first, last + 1)]


@dataclass(frozen=True)
class ArchiveKey:
    """What an archive key says: event hour, shard, first and last stream positions."""

    hour: str  # YYYY-MM-DDTHH
    shard_id: str
    first: tuple[int, int]  # (sequence number, sub-sequence number)
    last: tuple[int, int]


def parse_key(key: str) -> ArchiveKey | None:
    """The parts of an archive object key (None: not an object of the archive's layout)."""
    match = _KEY.search(key)
    if match is None:
        return None

    def position(text: str) -> tuple[int, int]:
        sequence, sub = text.split("-")
        return int(sequence), int(sub)

    return ArchiveKey(hour=f"{match['dt']}T{match['hour']}", shard_id=match["shard"],
                      first=position(match["first"]), last=position(match["last"]))


@dataclass(frozen=True)
class ArchivedObject:
    key: str
    hour: str
    size: int
    last_modified: str

    def as_row(self) -> dict[str, Any]:
        return {"key": self.key, "hour": self.hour, "size": self.size,
                "last_modified": self.last_modified}


def _iso(value: Any) -> str:
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(value)


def device_of(line: bytes) -> str | None:
    """The ``device_id`` of one archived line (None when it does not parse)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return str(record.get("device_id")) if isinstance(record, dict) else None


class ArchiveReader:
    """The archive bucket (and key prefix) seen through ListObjectsV2 and GetObject."""

    def __init__(self, s3: Any, bucket: str, prefix: str = "") -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix

    def objects(self, hours: Iterable[int]) -> list[ArchivedObject]:
        """The archive's objects of these event hours, by hour then key."""
        found = []
        for hour in sorted(set(hours)):
            paginator = self.s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket,
                                           Prefix=hour_prefix(self.prefix, hour)):
                for item in page.get("Contents", []):
                    parsed = parse_key(item["Key"])
                    if parsed is None:
                        continue  # not written by the archive worker
                    found.append(ArchivedObject(item["Key"], parsed.hour, int(item["Size"]),
                                                _iso(item.get("LastModified", ""))))
        return found

    def lines(self, hour: int, device: str | None = None) -> Iterator[bytes]:
        """Each JSON line of the hour's objects (decompressed), in key order; only
        ``device``'s when given."""
        for item in self.objects([hour]):
            body = self.s3.get_object(Bucket=self.bucket, Key=item.key)["Body"].read()
            try:
                text = gzip.decompress(body)
            except (OSError, EOFError) as exc:
                raise ShardlineError(f"s3://{self.bucket}/{item.key} is not gzip: {exc}") \
                    from None
            for line in text.splitlines():
                if line.strip() and (device is None or device_of(line) == device):
                    yield line


__all__ = ["ArchiveKey", "ArchiveReader", "ArchivedObject", "device_of", "hour_label",
           "hour_prefix", "hours_since", "parse_hour", "parse_key"]
