"""Splitting KPL-aggregated Kinesis records into user records (consumer side).

Format (AWS-SEMANTICS.md): magic ``F3 89 9A C2``, a protobuf ``AggregatedRecord``, then the
MD5 of the protobuf. Anything that does not carry the magic, whose digest does not match or
whose protobuf does not parse is an ordinary (non-aggregated) record, exactly as the KPL's
own deaggregators treat it; if it is not valid telemetry either, the caller quarantines it.

Unlike ``aws_kinesis_agg.deaggregator.iter_deaggregate_records`` this never stops halfway
through an aggregate (that function prints an error and silently drops the remaining user
records when an index is out of range): a user record is either returned or the whole
Kinesis record is treated as one opaque record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# aws_kinesis_agg's generated protobuf module needs its package directory on sys.path;
# importing the deaggregator sets that up.
from aws_kinesis_agg import MAGIC
from aws_kinesis_agg import deaggregator as _deaggregator  # noqa: F401

from aws_kinesis_agg import messages_pb2  # isort: skip

_DIGEST_SIZE = hashlib.md5().digest_size


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One user record; ``sub_sequence_number`` is None when the record was not aggregated."""

    data: bytes
    partition_key: str | None = None
    sub_sequence_number: int | None = None


def split_user_records(data: bytes) -> list[UserRecord]:
    """The user records carried by one Kinesis record's data, in order."""
    aggregate = _parse_aggregate(data)
    if aggregate is None:
        return [UserRecord(data)]
    keys = list(aggregate.partition_key_table)
    records: list[UserRecord] = []
    for sub_sequence, record in enumerate(aggregate.records):
        index = record.partition_key_index
        if index >= len(keys):
            return [UserRecord(data)]
        records.append(UserRecord(bytes(record.data), keys[index], sub_sequence))
    return records


def _parse_aggregate(data: bytes) -> messages_pb2.AggregatedRecord | None:
    if len(data) <= len(MAGIC) + _DIGEST_SIZE or not data.startswith(MAGIC):
        return None
    body, digest = data[len(MAGIC) : -_DIGEST_SIZE], data[-_DIGEST_SIZE:]
    if hashlib.md5(body).digest() != digest:
        return None
    aggregate = messages_pb2.AggregatedRecord()
    try:
        aggregate.ParseFromString(body)
    except Exception:  # protobuf raises DecodeError or, for missing required fields, others
        return None
    return aggregate


__all__ = ["UserRecord", "split_user_records"]
