"""The event-source-mapping engine: discovers mappings through the Lambda API and drives them.

Everything comes from the embedded AWS, never from a second configuration: mappings
(``ListEventSourceMappings``), shards (``ListShards``, DynamoDB Streams'
``DescribeStream``; after a reshard, parents are read to their end before their
children, ``shard_lineage``), functions
(``GetFunctionConfiguration``). Mappings created, changed, disabled or deleted while the
engine runs are picked up at the next discovery pass. In real-time mode each
(mapping, shard) pair has its own thread running ``ShardConsumer.step``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.async_invoke import AsyncInvoker
from shardline.local.destinations import deliver
from shardline.local.functions import FunctionRuntime, InvocationResult
from shardline.local.kinesis_source import WINDOW_STATE_CAP_BYTES, ShardConsumer
from shardline.local.mappings import StreamMapping
from shardline.local.poller_access import AccessProblem, denial_reason, mark_mapping
from shardline.local.read_budget import ReadBudgets
from shardline.local.schedules import ScheduleRunner
from shardline.local.scheduling import (
    Clock,
    DeterministicDriver,
    RealClock,
    RealTimeDriver,
)
from shardline.local.shard_lineage import Lineage, ShardInfo
from shardline.local.sqs_mapping import SqsMapping
from shardline.local.sqs_source import SqsConsumer
from shardline.local.stream_sources import open_reader, stream_shards

log = logging.getLogger("shardline.engine")

DISCOVERY_INTERVAL_S = 2.0


@dataclass
class Engine:
    """Drives every event source mapping in the embedded AWS.

    Real-time by default (``RealTimeDriver``: a thread per shard). Pass a
    ``DeterministicDriver`` and its ``VirtualClock`` for exact, single-threaded runs:
    then nothing happens until ``advance(seconds)``.
    """

    clients: Callable[[str], Any]  # service name -> boto3 client for the embedded AWS
    runtime: FunctionRuntime
    # (role ARN, service) -> a client acting as the role (``RoleSessions.client``): what
    # pollers and destinations use, as Lambda's do. None: the engine's own ``clients``.
    role_clients: Callable[[str, str], Any] | None = None
    # Calls the embedded AWS denied (for the status file): ``LocalStack.denials``.
    denials: Callable[[], list[Any]] = list
    clock: Clock = field(default_factory=RealClock)
    driver: RealTimeDriver | DeterministicDriver | None = None
    discovery_interval_s: float = DISCOVERY_INTERVAL_S
    poll_interval_s: float = 1.0
    state_cap_bytes: int = WINDOW_STATE_CAP_BYTES
    invocation_log: deque[Any] = field(default_factory=lambda: deque(maxlen=100_000))
    _consumers: dict[tuple[str, str], ShardConsumer | SqsConsumer] = field(default_factory=dict)
    # Where a disabled (or deleted) mapping stopped on each shard: re-enabled, it resumes.
    _checkpoints: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # Mappings whose role was denied before a consumer could start (listing shards,
    # opening an iterator): retried at every discovery pass.
    blocked: dict[tuple[str, str], AccessProblem] = field(default_factory=dict)
    # Shards done with per mapping (closed and read to their end), across reshards.
    lineage: Lineage = field(default_factory=Lineage)
    # Child shards that start at their first record (their parents were read).
    _from_first_record: set[tuple[str, str]] = field(default_factory=set)
    _discoveries: int = 0
    _last_invocation_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    async_invoker: AsyncInvoker = field(init=False)
    schedules: ScheduleRunner = field(init=False)
    # Kinesis read throughput: shared per shard, dedicated per EFO consumer and shard.
    read_budgets: ReadBudgets = field(init=False)

    def __post_init__(self) -> None:
        if self.driver is None:
            self.driver = RealTimeDriver(self.clock)
        self.read_budgets = ReadBudgets(self.clock)
        self._discovery = _Discovery(self)
        self.async_invoker = AsyncInvoker(
            self.clients, self.runtime, self.clock, self.driver,
            record_invocation=self._record_invocation,
            send_to_destination=self.send_to_destination,
            concurrent=isinstance(self.driver, RealTimeDriver),
        )
        self.schedules = ScheduleRunner(
            self.clients("events"), self.async_invoker,
            send_to_target=self.send_to_destination,
            discovery_interval_s=self.discovery_interval_s,
        )

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Discover now, then keep discovering on the driver."""
        self.discover()
        assert self.driver is not None
        self.driver.add(self._discovery)
        self.driver.add(self.schedules)

    def stop(self) -> None:
        assert self.driver is not None
        self.driver.stop()
        self.async_invoker.stop()
        with self._lock:
            self._consumers.clear()

    def advance(self, seconds: float) -> int:
        """Deterministic mode: run everything due in the next ``seconds`` of virtual time."""
        if not isinstance(self.driver, DeterministicDriver):
            raise TypeError("advance() needs a DeterministicDriver")
        return self.driver.advance(seconds)

    # -- discovery ---------------------------------------------------------------------
    def mappings(self) -> list[StreamMapping | SqsMapping]:
        paginator = self.clients("lambda").get_paginator("list_event_source_mappings")
        found: list[StreamMapping | SqsMapping] = []
        for page in paginator.paginate():
            for data in page.get("EventSourceMappings", []):
                if data["EventSourceArn"].split(":")[2] == "sqs":
                    found.append(SqsMapping.from_api(data))
                else:
                    found.append(StreamMapping.from_api(data))
        return found

    def discover(self) -> None:
        """Start consumers for new mappings and shards; stop those that went away."""
        wanted: dict[tuple[str, str], StreamMapping | SqsMapping] = {}
        for mapping in self.mappings():
            if isinstance(mapping, SqsMapping):
                if mapping.enabled:
                    wanted[(mapping.uuid, mapping.queue_name)] = mapping
                continue
            if not mapping.is_stream or not mapping.enabled:
                continue
            shards = self._guarded(mapping, "*", lambda m=mapping: self._shards(m))
            for shard_id in self._readable(mapping, shards or []):
                wanted[(mapping.uuid, shard_id)] = mapping
        assert self.driver is not None
        with self._lock:
            for key in [k for k in self._consumers if k not in wanted]:
                removed = self._consumers.pop(key)
                self.driver.remove(removed)
                if isinstance(removed, ShardConsumer):
                    self._checkpoints[key] = removed.checkpoint
            for key, mapping in wanted.items():
                consumer = self._consumers.get(key)
                if consumer is None:
                    consumer = self._guarded(mapping, key[1],
                                             lambda k=key, m=mapping: self._new_consumer(k[1], m))
                    if consumer is None:
                        continue
                    self._consumers[key] = consumer
                    self.driver.add(consumer)
                    log.info("consuming %s shard %s for %s", mapping.source_arn, key[1],
                             mapping.function_arn)
                elif consumer.mapping != mapping:
                    consumer.mapping = mapping  # type: ignore[assignment]  # next batch on
            self._discoveries += 1

    def _shards(self, mapping: StreamMapping) -> list[ShardInfo]:
        """Shards of a Kinesis stream (an EFO consumer's parent) or DynamoDB stream."""
        if self.role_clients is None:
            return stream_shards(self.clients, mapping)
        return stream_shards(self.clients_for(self._role(mapping.function_arn)), mapping)

    def _readable(self, mapping: StreamMapping, listed: list[ShardInfo]) -> list[str]:
        """The shards the mapping reads now (``shard_lineage``): a closed shard read to
        its end is done with, and its children become readable."""
        with self._lock:
            for shard in listed:
                consumer = self._consumers.get((mapping.uuid, shard.shard_id))
                if (shard.closed and isinstance(consumer, ShardConsumer)
                        and consumer.reader.ended and consumer.idle):
                    self.lineage.finished(mapping.uuid, shard.shard_id)
                    log.info("mapping %s finished closed shard %s", mapping.uuid,
                             shard.shard_id)
        ready = self.lineage.to_read(mapping.uuid, mapping.starting_position, listed)
        for shard_id, from_first_record in ready.items():
            if from_first_record:
                self._from_first_record.add((mapping.uuid, shard_id))
        return list(ready)

    def _guarded(self, mapping: StreamMapping | SqsMapping, shard: str,
                 start: Callable[[], Any]) -> Any:
        """``start()``, or None when the function's role is denied (noted in ``blocked``)."""
        key = (mapping.uuid, shard)
        try:
            result = start()
        except Exception as exc:
            reason = denial_reason(exc)
            if reason is None:
                raise
            problem = self.blocked.setdefault(key, AccessProblem())
            problem.denied(f"mapping {mapping.uuid} ({mapping.source_arn})", reason)
            mark_mapping(mapping.uuid, mapping.account, mapping.region, problem)
            return None
        problem = self.blocked.pop(key, None)
        if problem is not None:
            problem.cleared(f"mapping {mapping.uuid}")
            mark_mapping(mapping.uuid, mapping.account, mapping.region, problem)
        return result

    def _role(self, function_arn: str) -> str:
        return self.runtime.describe(function_arn).role

    def clients_for(self, role: str) -> Callable[[str], Any]:
        """Clients acting as ``role`` (the engine's own when it has no role clients)."""
        if self.role_clients is None or not role:
            return self.clients
        role_clients = self.role_clients
        return lambda service: role_clients(role, service)

    def _new_consumer(self, shard_id: str,
                      mapping: StreamMapping | SqsMapping) -> ShardConsumer | SqsConsumer:
        function = self.runtime.describe(mapping.function_arn)
        clients = self.clients_for(function.role)
        if isinstance(mapping, SqsMapping):
            return SqsConsumer(
                mapping=mapping, sqs=clients("sqs"), invoke=self._invoke,
                record_invocation=self._record_invocation,
                poll_interval_s=self.poll_interval_s,
                virtual_visibility=isinstance(self.driver, DeterministicDriver),
            )
        checkpoint = self._checkpoints.get((mapping.uuid, shard_id))
        reader = open_reader(clients, mapping, shard_id, self.read_budgets,
                             role=function.role, checkpoint=checkpoint,
                             from_first_record=(mapping.uuid, shard_id) in self._from_first_record)
        self._checkpoints.pop((mapping.uuid, shard_id), None)
        return ShardConsumer(
            mapping=mapping, shard_id=shard_id, checkpoint=checkpoint,
            reader=reader,
            invoke=self._invoke, send_to_destination=self.send_to_destination,
            record_invocation=self._record_invocation,
            poll_interval_s=self.poll_interval_s, state_cap_bytes=self.state_cap_bytes,
            concurrent_lanes=isinstance(self.driver, RealTimeDriver),
        )

    def _record_invocation(self, invocation: Any) -> None:
        """Log an invocation (called when it has returned) and note the time: its writes
        may feed another mapping (a table's stream), which must poll after it."""
        self.invocation_log.append(invocation)
        self._last_invocation_at = self.clock.now()

    # -- effects -----------------------------------------------------------------------
    def _invoke(self, function_arn: str, event: dict[str, Any]) -> InvocationResult:
        return self.runtime.invoke(function_arn, event)

    def send_to_destination(self, arn: str, document: dict[str, Any], *,
                            object_key: str | None = None) -> None:
        """Deliver a record to an SQS queue, an SNS topic or (under ``object_key``) an S3
        bucket, as Lambda does (``destinations.deliver``): with the execution role of the
        function the record is about (``requestContext``)."""
        clients = self.clients
        function_arn = (document.get("requestContext") or {}).get("functionArn")
        if function_arn and self.role_clients is not None:
            unqualified = ":".join(str(function_arn).split(":")[:7])
            clients = self.clients_for(self._role(unqualified))
        deliver(clients, arn, document, object_key=object_key)

    # -- observation -------------------------------------------------------------------
    def consumers(self) -> list[ShardConsumer | SqsConsumer]:
        with self._lock:
            return list(self._consumers.values())

    def wait_until_idle(self, timeout_s: float, settle_polls: int = 2) -> bool:
        """Block until every consumer has drained its shard and closed its windows.

        A consumer counts as drained after ``settle_polls`` polls that began after this
        call, the last of which found nothing, with no open window or pending batch, and
        a poll that began after the most recent invocation anywhere — so records written
        by one function to a stream another mapping reads are seen (aggregator → table
        stream → rollup). Returns False when ``timeout_s`` passes first. Real-time mode.
        """
        started = time.time()
        baseline = {id(c): c.polls for c in self.consumers()}
        discoveries = self._discoveries
        deadline = started + timeout_s
        while time.time() < deadline:
            consumers = self.consumers()
            if self._discoveries > discoveries and consumers and all(
                c.idle and c.polls - baseline.get(id(c), 0) >= settle_polls
                and c.last_poll_at > self._last_invocation_at
                for c in consumers
            ) and self.async_invoker.idle:
                return True
            time.sleep(0.2)
        return False


@dataclass
class _Discovery:
    """Re-reads the mappings every ``discovery_interval_s`` (a driver component)."""

    engine: Engine
    name: str = "esm-discovery"

    def step(self, now: float) -> float:
        try:
            self.engine.discover()
        except Exception:
            log.exception("event source mapping discovery failed")
        return now + self.engine.discovery_interval_s
