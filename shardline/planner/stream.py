"""The telemetry stream: how many shards a fleet needs, and what its producers put.

Kinesis limits (AWS-SEMANTICS.md): a shard takes 1 MiB/s and 1,000 records/s of writes;
shared-throughput readers share 2 MiB/s and 5 GetRecords calls/s per shard; each enhanced
fan-out (EFO) consumer gets its own 2 MiB/s per shard. A PUT payload unit is 25 KB of one
record. With KPL aggregation (``producers/aggregation.py``) a shard's user records are
packed into aggregated records of at most ``DEFAULT_MAX_AGGREGATE_BYTES`` (the KPL's
AggregationMaxSize), as many as arrive within the KPL's buffering time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from producers.aggregation import DEFAULT_MAX_AGGREGATE_BYTES

MIB = 1024 * 1024
WRITE_BYTES_PER_SHARD = MIB
WRITE_RECORDS_PER_SHARD = 1000
READ_BYTES_PER_SHARD = 2 * MIB
EFO_BYTES_PER_CONSUMER_SHARD = 2 * MIB
GET_RECORDS_PER_SHARD = 5
PUT_PAYLOAD_UNIT_BYTES = 25 * 1024
MAX_SHARDS = 100_000
# Assumptions (estimates, not AWS limits):
PARTITION_KEY_BYTES = 12  # "dev-00042"-style device ids
AGGREGATE_OVERHEAD_BYTES = 20  # magic bytes + MD5 of an aggregated record
SUB_RECORD_OVERHEAD_BYTES = 8 + PARTITION_KEY_BYTES  # protobuf framing, key table entry
KPL_BUFFER_S = 0.1  # the KPL's RecordMaxBufferedTime default (100 ms)


@dataclass(frozen=True)
class StreamLoad:
    """One shard's write load, and what the fleet puts per second (arrival time)."""

    shards: int
    user_records_per_s: float  # whole stream
    kinesis_records_per_s: float  # whole stream (aggregated records count once)
    kinesis_record_bytes: float  # mean size of one Kinesis record
    bytes_per_s: float  # whole stream
    put_payload_units_per_s: float
    binding_limit: str  # what sets the shard count

    @property
    def user_records_per_kinesis_record(self) -> float:
        if not self.kinesis_records_per_s:
            return 0.0
        return self.user_records_per_s / self.kinesis_records_per_s

    def utilisation(self) -> dict[str, float]:
        """Fraction of each per-shard limit used (1.0 = at the limit)."""
        per_shard = self.shards or 1
        return {
            "write_bytes": self.bytes_per_s / per_shard / WRITE_BYTES_PER_SHARD,
            "write_records": self.kinesis_records_per_s / per_shard / WRITE_RECORDS_PER_SHARD,
            "shared_read_bytes": self.bytes_per_s / per_shard / READ_BYTES_PER_SHARD,
            # the aggregator, the one shared-throughput reader, polls once a second
            "shared_read_calls": 1 / GET_RECORDS_PER_SHARD,
            "efo_read_bytes": self.bytes_per_s / per_shard / EFO_BYTES_PER_CONSUMER_SHARD,
        }


def _load(shards: int, user_per_s: float, record_bytes: int, aggregate: bool) -> StreamLoad:
    per_shard = user_per_s / shards
    if aggregate:
        fits = max(1, (DEFAULT_MAX_AGGREGATE_BYTES - AGGREGATE_OVERHEAD_BYTES)
                   // (record_bytes + SUB_RECORD_OVERHEAD_BYTES))
        packed = max(1.0, min(float(fits), per_shard * KPL_BUFFER_S))
        kinesis_per_s = user_per_s / packed
        size = (AGGREGATE_OVERHEAD_BYTES + PARTITION_KEY_BYTES
                + packed * (record_bytes + SUB_RECORD_OVERHEAD_BYTES)) if packed > 1 else (
            record_bytes + PARTITION_KEY_BYTES)
    else:
        kinesis_per_s = user_per_s
        size = record_bytes + PARTITION_KEY_BYTES
    units = kinesis_per_s * math.ceil(size / PUT_PAYLOAD_UNIT_BYTES)
    return StreamLoad(shards, user_per_s, kinesis_per_s, size, kinesis_per_s * size, units, "")


def _binding(load: StreamLoad) -> str:
    use = load.utilisation()
    name = max(("write_bytes", "write_records"), key=use.__getitem__)
    return {"write_bytes": "1 MiB/s written per shard",
            "write_records": "1,000 records/s written per shard"}[name]


def stream_load(user_per_s: float, record_bytes: int, *, aggregate: bool,
                shards: int | None = None) -> StreamLoad:
    """The load on the fewest shards that carry ``user_per_s`` (or on ``shards``; a
    ``ValueError`` when those are too few)."""
    def fits(load: StreamLoad) -> bool:
        use = load.utilisation()
        return use["write_bytes"] <= 1 and use["write_records"] <= 1

    if shards is not None:
        load = _load(shards, user_per_s, record_bytes, aggregate)
        if not fits(load):
            needed = stream_load(user_per_s, record_bytes, aggregate=aggregate).shards
            raise ValueError(f"{shards} shards cannot carry this load: it needs {needed}")
        return _with_binding(load, "the shard count given")
    count = 1
    while count <= MAX_SHARDS:
        load = _load(count, user_per_s, record_bytes, aggregate)
        if fits(load):
            return _with_binding(load, _binding(load) if count > 1 else "one shard is enough")
        # Aggregation packs more per record as the per-shard rate rises, so step by the
        # bytes-and-records bound, then check.
        bound = math.ceil(max(load.bytes_per_s / WRITE_BYTES_PER_SHARD,
                              load.kinesis_records_per_s / WRITE_RECORDS_PER_SHARD))
        count = max(count + 1, min(bound, count * 2))
    raise ValueError(f"the load needs more than {MAX_SHARDS} shards")


def _with_binding(load: StreamLoad, binding: str) -> StreamLoad:
    return StreamLoad(load.shards, load.user_records_per_s, load.kinesis_records_per_s,
                      load.kinesis_record_bytes, load.bytes_per_s,
                      load.put_payload_units_per_s, binding)


__all__ = [
    "EFO_BYTES_PER_CONSUMER_SHARD",
    "GET_RECORDS_PER_SHARD",
    "PUT_PAYLOAD_UNIT_BYTES",
    "READ_BYTES_PER_SHARD",
    "WRITE_BYTES_PER_SHARD",
    "WRITE_RECORDS_PER_SHARD",
    "StreamLoad",
    "stream_load",
]
