"""Kinesis read throughput per shard: shared by GetRecords readers, dedicated per EFO consumer.

Kinesis API reference and developer guide ("Develop enhanced fan-out consumers with
dedicated throughput"):

* **shared throughput** — every reader of a shard that uses GetRecords (shared-throughput
  event source mappings among them) shares 2 MiB/s and 5 GetRecords calls per second
  per shard. One call may return up to 10 MiB; the shard then refuses further calls
  (``ProvisionedThroughputExceededException``) until the average is back under 2 MiB/s
  (a call returning 10 MiB blocks the next 5 seconds).
* **enhanced fan-out** — each registered consumer gets its own 2 MiB/s per shard,
  pushed over its subscription, whatever other consumers or GetRecords readers do.

``ReadBudget`` is a token bucket on the engine's clock: bytes refill at 2 MiB/s up to
2 MiB; a shared budget also counts calls in the last second. ``ReadBudgets`` holds one
shared budget per (stream, shard) and one dedicated budget per (consumer, shard), so
shared-throughput mappings contend with each other and never with EFO mappings.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from shardline.local.scheduling import Clock

READ_BYTES_PER_S = 2 * 1024 * 1024
SHARED_CALLS_PER_S = 5
MAX_BYTES_PER_CALL = 10 * 1024 * 1024


@dataclass
class ReadBudget:
    """Bytes per second (a token bucket that one call may overdraw) and, for a shard's
    shared budget, GetRecords calls per second."""

    clock: Clock
    bytes_per_s: float = READ_BYTES_PER_S
    calls_per_s: int | None = None
    _tokens: float = field(init=False)
    _at: float = field(init=False)
    _calls: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._tokens = self.bytes_per_s
        self._at = self.clock.now()

    @property
    def tokens(self) -> float:
        """Bytes that may be read now (negative: an overdraft still being paid back)."""
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self.clock.now()
        if now > self._at:
            self._tokens = min(self.bytes_per_s,
                               self._tokens + (now - self._at) * self.bytes_per_s)
            self._at = now

    def admits_call(self) -> bool:
        """A GetRecords call is allowed now (shared budget): the bytes are not overdrawn
        and fewer than ``calls_per_s`` calls were made in the last second."""
        now = self.clock.now()
        while self._calls and self._calls[0] <= now - 1.0:
            self._calls.popleft()
        if self.calls_per_s is not None and len(self._calls) >= self.calls_per_s:
            return False
        return self.tokens > 0

    def record_call(self, read_bytes: int) -> None:
        self._calls.append(self.clock.now())
        self.spend(read_bytes)

    def admits(self, record_bytes: int) -> bool:
        """A pushed record of ``record_bytes`` fits now (a record larger than one
        second's budget goes when the bucket is full)."""
        return self.tokens + 1 >= min(record_bytes, self.bytes_per_s)  # 1 byte: rounding

    def ready_at(self, record_bytes: int) -> float:
        """When ``admits(record_bytes)`` becomes true."""
        short = min(record_bytes, self.bytes_per_s) - self.tokens
        return self.clock.now() + max(0.0, short) / self.bytes_per_s

    def spend(self, read_bytes: int) -> None:
        self._refill()
        self._tokens -= read_bytes


@dataclass
class ReadBudgets:
    """The read budgets of every shard the engine reads (one engine, one set)."""

    clock: Clock
    _budgets: dict[tuple[str, str], ReadBudget] = field(default_factory=dict)

    def shared(self, stream_arn: str, shard_id: str) -> ReadBudget:
        """What every GetRecords reader of the shard shares."""
        return self._budget((stream_arn, shard_id), SHARED_CALLS_PER_S)

    def dedicated(self, consumer_arn: str, shard_id: str) -> ReadBudget:
        """An enhanced fan-out consumer's own budget on the shard."""
        return self._budget((consumer_arn, shard_id), None)

    def _budget(self, key: tuple[str, str], calls_per_s: int | None) -> ReadBudget:
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = ReadBudget(self.clock, calls_per_s=calls_per_s)
        return budget


def kinesis_record_bytes(data_base64: str, partition_key: str) -> int:
    """The bytes a Kinesis record counts against read throughput: its data blob and
    partition key (from the base64 text Lambda's event carries, without decoding it)."""
    padding = data_base64[-2:].count("=")
    return len(data_base64) * 3 // 4 - padding + len(partition_key.encode())
