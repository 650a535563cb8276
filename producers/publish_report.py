"""What one or more ``publish`` calls did, counted: ``PublishReport``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class PublishReport:
    """Counters of what publishing did; ``merge`` sums reports.

    ``accepted`` counts user records and ``kinesis_records`` the Kinesis records that
    carried them (equal unless records are KPL-aggregated); ``bytes_accepted`` is the
    Kinesis records' data + partition keys. ``calls`` counts PutRecords calls (throttled
    ones included), ``failed_records`` the per-record failures and ``retried`` the records
    sent again (Kinesis records: an aggregate fails and is retried whole),
    ``throttled_calls`` the whole calls rejected by throttling. ``error_codes`` counts
    per-record ErrorCodes once per failed record and whole-call errors once per call.
    ``unexpected_shard`` counts accepted records that landed on a shard other than their
    ``expected_shard_id``. ``throttled_records`` counts the per-record failures that were
    ``ProvisionedThroughputExceededException`` (the shard's write limits).
    """

    calls: int = 0
    accepted: int = 0
    kinesis_records: int = 0
    bytes_accepted: int = 0
    unexpected_shard: int = 0
    failed_records: int = 0
    retried: int = 0
    throttled_calls: int = 0
    throttled_records: int = 0
    backoff_s: float = 0.0
    error_codes: Counter[str] = field(default_factory=Counter)

    def merge(self, other: PublishReport) -> None:
        self.calls += other.calls
        self.accepted += other.accepted
        self.kinesis_records += other.kinesis_records
        self.bytes_accepted += other.bytes_accepted
        self.unexpected_shard += other.unexpected_shard
        self.failed_records += other.failed_records
        self.retried += other.retried
        self.throttled_calls += other.throttled_calls
        self.throttled_records += other.throttled_records
        self.backoff_s += other.backoff_s
        self.error_codes.update(other.error_codes)
