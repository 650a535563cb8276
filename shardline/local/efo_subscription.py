"""Enhanced fan-out: a mapping on a stream consumer gets its records pushed (SubscribeToShard).

What AWS documents (Kinesis API reference: SubscribeToShard, RegisterStreamConsumer;
developer guide: "Develop enhanced fan-out consumers with dedicated throughput"; Lambda
guide: "Using Lambda to process records from Amazon Kinesis Data Streams") and how the
engine models each rule, per (mapping, shard):

* **Push.** Kinesis pushes records over an HTTP/2 subscription as they arrive; nobody
  polls. A record reaches the mapping ``PUSH_LATENCY_S`` (70 ms, the typical
  propagation delay AWS gives for enhanced fan-out) after its arrival time, on the
  engine's clock — not at the next poll. moto has no SubscribeToShard: the subscription
  looks at the shard's newest sequence number in this process every ``PUSH_CHECK_S``
  (shorter than the latency, so no push is late) and fetches new records with GetRecords
  on the parent stream, under the function's role, with its own iterator.
* **Dedicated throughput.** Each consumer gets 2 MiB/s per shard of its own
  (``ReadBudgets.dedicated``): records beyond it wait their turn, whatever
  shared-throughput mappings or other consumers read (their budget is the shard's
  shared one, ``ReadBudgets.shared``).
* **Subscriptions last 5 minutes.** A subscription ends ``SUBSCRIPTION_LIFETIME_S``
  after SubscribeToShard; the next starts after the ContinuationSequenceNumber of the
  last event (the last record pushed), so records in flight when it ended are pushed
  again by the new one, once. SubscribeToShard is called at most once a second per
  consumer and shard (``SUBSCRIBE_INTERVAL_S``).
* **Consumer lifecycle.** SubscribeToShard on a consumer that is not ACTIVE fails with
  ``ResourceInUseException`` (a new consumer is CREATING first, ``embedded_consumers``);
  the subscription tries again a second later. A deregistered consumer ends the
  subscription: nothing more is pushed, and — AWS does not document what the mapping
  shows then — the mapping reports ``LastProcessingResult`` "PROBLEM: …" (as it does
  when its role may not read the source) and keeps trying once a second, resuming after
  its continuation sequence number if a consumer of that ARN comes back.

Each subscription event's ``ContinuationSequenceNumber`` and ``MillisBehindLatest`` are
kept (``continuation_sequence_number``, ``millis_behind_latest``). A closed shard (a
reshard's parent) ends once its last record was pushed (``ended``: on AWS the last event
has no ContinuationSequenceNumber and names the ChildShards); the engine then finds the
children by listing the stream (``shard_lineage``) and subscribes to them.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field

from shardline.local.embedded_consumers import consumer_status, shard_tip
from shardline.local.kinesis_source import KinesisShardReader
from shardline.local.mappings import StreamMapping
from shardline.local.poller_access import AccessProblem, mark_mapping
from shardline.local.read_budget import ReadBudget, kinesis_record_bytes
from shardline.local.scheduling import Clock
from shardline.local.stream_consumer import StreamRecord

log = logging.getLogger("shardline.engine")

PUSH_LATENCY_S = 0.07
PUSH_CHECK_S = 0.05
SUBSCRIPTION_LIFETIME_S = 300.0
SUBSCRIBE_INTERVAL_S = 1.0
TIME_EPSILON_S = 1e-9


@dataclass(frozen=True)
class Subscription:
    """One SubscribeToShard call that succeeded."""

    started_at: float
    # The ContinuationSequenceNumber it started after (None: the mapping's start).
    continued_after: str | None

    @property
    def ends_at(self) -> float:
        return self.started_at + SUBSCRIPTION_LIFETIME_S


@dataclass
class EfoShardReader:
    """A ``ShardReader`` for an enhanced fan-out mapping: records pushed by a consumer's
    subscription to one shard."""

    fetcher: KinesisShardReader  # GetRecords on the parent stream, no shared budget
    mapping: StreamMapping
    clock: Clock
    budget: ReadBudget  # the consumer's own 2 MiB/s on this shard
    subscriptions: deque[Subscription] = field(default_factory=lambda: deque(maxlen=100))
    refusals: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=100))
    continuation_sequence_number: str | None = None
    millis_behind_latest: int = 0
    problem: AccessProblem = field(default_factory=AccessProblem)
    _active: bool = False
    _in_transit: deque[tuple[StreamRecord, int]] = field(default_factory=deque)
    _fetched_tip: int = -1
    _last_subscribe_call: float = -math.inf
    _next_at: float = 0.0

    # -- what ShardConsumer reads ---------------------------------------------------
    @property
    def shard_id(self) -> str:
        return self.fetcher.shard_id

    @property
    def stream_arn(self) -> str:
        return self.fetcher.stream_arn

    @property
    def batch_info_key(self) -> str:
        return self.fetcher.batch_info_key

    @property
    def limit(self) -> int:
        return self.fetcher.limit

    @property
    def consumer_arn(self) -> str:
        return self.mapping.source_arn

    @property
    def poll_interval_s(self) -> float:
        """Until the next push, renewal or subscription attempt (asked after ``read``)."""
        return max(0.0, self._next_at - self.clock.now())

    @property
    def ended(self) -> bool:
        """A closed shard whose every record was pushed."""
        return self.fetcher.ended and not self._in_transit

    def read(self) -> tuple[list[StreamRecord], bool]:
        """The records the subscription has pushed by now, and whether it is caught up."""
        now = self.clock.now()
        if not self._subscribed(now):
            return [], False
        self._fetch()
        records = self._push(now)
        return records, not self._in_transit and self.millis_behind_latest == 0

    # -- the subscription -----------------------------------------------------------
    def _subscribed(self, now: float) -> bool:
        status = consumer_status(self.consumer_arn)
        if status is None:
            self._consumer_gone(now)
            return False
        current = self.subscriptions[-1] if self._active and self.subscriptions else None
        if current is not None and now < current.ends_at:
            return True
        return self._subscribe(now, status)

    def _subscribe(self, now: float, status: str) -> bool:
        """SubscribeToShard: a new subscription, at most one call a second."""
        if now < self._last_subscribe_call + SUBSCRIBE_INTERVAL_S:
            self._next_at = self._last_subscribe_call + SUBSCRIBE_INTERVAL_S
            return False
        self._last_subscribe_call = now
        if status != "ACTIVE":
            self.refusals.append((now, "ResourceInUseException"))
            self._next_at = now + SUBSCRIBE_INTERVAL_S
            return False
        if self.subscriptions:
            # What the last subscription fetched but did not push goes again, once.
            self._in_transit.clear()
            self.fetcher.restart_after(self.continuation_sequence_number)
            self._fetched_tip = -1
        self.subscriptions.append(Subscription(now, self.continuation_sequence_number))
        self._active = True
        if self.problem.reason is not None:
            log.info("mapping %s: stream consumer %s is back, the mapping resumes",
                     self.mapping.uuid, self.consumer_arn)
            self.problem.reason = None
            self._mark()
        return True

    def _consumer_gone(self, now: float) -> None:
        self._active = False
        self._in_transit.clear()
        self._next_at = now + SUBSCRIBE_INTERVAL_S
        reason = (f"ResourceNotFoundException: stream consumer {self.consumer_arn} "
                  "not found")
        if reason != self.problem.reason:
            self.refusals.append((now, "ResourceNotFoundException"))
            log.error("PROBLEM: mapping %s: %s; nothing is pushed until it is registered "
                      "again", self.mapping.uuid, reason)
            self.problem.reason = reason
            self._mark()

    def _mark(self) -> None:
        mark_mapping(self.mapping.uuid, self.mapping.account, self.mapping.region,
                     self.problem)

    # -- pushing --------------------------------------------------------------------
    def _fetch(self) -> None:
        """Take what arrived on the shard since the last look (moto has no push)."""
        tip, closed = shard_tip(self.stream_arn, self.shard_id)
        if ((tip == self._fetched_tip and not closed) or self.fetcher.ended
                or len(self._in_transit) >= self.limit):
            return
        records, at_tip = self.fetcher.read()
        if at_tip:
            self._fetched_tip = tip
        for record in records:
            kinesis = record.event["kinesis"]
            self._in_transit.append(
                (record, kinesis_record_bytes(kinesis["data"], kinesis["partitionKey"])))
        self.millis_behind_latest = self.fetcher.millis_behind_latest

    def _push(self, now: float) -> list[StreamRecord]:
        """Records due (arrived ``PUSH_LATENCY_S`` ago) and within the consumer's budget."""
        pushed: list[StreamRecord] = []
        next_at = now + PUSH_CHECK_S
        while self._in_transit:
            record, size = self._in_transit[0]
            due = record.arrival + PUSH_LATENCY_S
            if due > now + TIME_EPSILON_S:
                next_at = due
                break
            if not self.budget.admits(size):
                next_at = self.budget.ready_at(size)
                break
            self.budget.spend(size)
            self._in_transit.popleft()
            pushed.append(record)
            self.continuation_sequence_number = record.sequence_number
        self._next_at = min(next_at, self.subscriptions[-1].ends_at)
        return pushed
