"""The event-source-mapping engine: discovers mappings through the Lambda API and drives them.

Everything comes from the embedded AWS, never from a second configuration: mappings
(``ListEventSourceMappings``), shards (``ListShards``), functions
(``GetFunctionConfiguration``). Mappings created, changed, disabled or deleted while the
engine runs are picked up at the next discovery pass. In real-time mode each
(mapping, shard) pair has its own thread running ``ShardConsumer.step``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.functions import FunctionRuntime, InvocationResult
from shardline.local.kinesis_source import Invocation, ShardConsumer
from shardline.local.mappings import StreamMapping

log = logging.getLogger("shardline.engine")

DISCOVERY_INTERVAL_S = 2.0


@dataclass
class _Worker:
    consumer: ShardConsumer
    thread: threading.Thread
    stop: threading.Event
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Engine:
    """Real-time driver of every stream mapping in the embedded AWS."""

    clients: Callable[[str], Any]  # service name -> boto3 client for the embedded AWS
    runtime: FunctionRuntime
    discovery_interval_s: float = DISCOVERY_INTERVAL_S
    poll_interval_s: float = 1.0
    invocation_log: deque[Invocation] = field(default_factory=lambda: deque(maxlen=10_000))
    _workers: dict[tuple[str, str], _Worker] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _discovery: threading.Thread | None = None
    _discoveries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self.discover()
        self._discovery = threading.Thread(target=self._discover_loop, name="esm-discovery",
                                           daemon=True)
        self._discovery.start()

    def stop(self) -> None:
        self._stop.set()
        if self._discovery is not None:
            self._discovery.join(timeout=5)
        for key in list(self._workers):
            self._stop_worker(key)

    def _discover_loop(self) -> None:
        while not self._stop.wait(self.discovery_interval_s):
            try:
                self.discover()
            except Exception:
                log.exception("event source mapping discovery failed")

    # -- discovery ---------------------------------------------------------------------
    def mappings(self) -> list[StreamMapping]:
        paginator = self.clients("lambda").get_paginator("list_event_source_mappings")
        found = []
        for page in paginator.paginate():
            for data in page.get("EventSourceMappings", []):
                found.append(StreamMapping.from_api(data))
        return found

    def discover(self) -> None:
        """Start consumers for new mappings and shards; stop those that went away."""
        wanted: dict[tuple[str, str], StreamMapping] = {}
        for mapping in self.mappings():
            if mapping.service != "kinesis" or not mapping.enabled:
                continue
            for shard_id in self._shards(mapping.source_arn):
                wanted[(mapping.uuid, shard_id)] = mapping
        with self._lock:
            for key in [k for k in self._workers if k not in wanted]:
                self._stop_worker(key)
            for key, mapping in wanted.items():
                worker = self._workers.get(key)
                if worker is None:
                    self._start_worker(key, mapping)
                elif worker.consumer.mapping != mapping:
                    with worker.lock:
                        worker.consumer.mapping = mapping
            self._discoveries += 1

    def _shards(self, stream_arn: str) -> list[str]:
        kinesis = self.clients("kinesis")
        shards: list[str] = []
        kwargs: dict[str, Any] = {"StreamARN": stream_arn}
        while True:
            page = kinesis.list_shards(**kwargs)
            shards.extend(s["ShardId"] for s in page["Shards"]
                          if "EndingSequenceNumber" not in s["SequenceNumberRange"])
            token = page.get("NextToken")
            if not token:
                return shards
            kwargs = {"NextToken": token}

    def _start_worker(self, key: tuple[str, str], mapping: StreamMapping) -> None:
        function = self.runtime.describe(mapping.function_arn)
        consumer = ShardConsumer(
            mapping=mapping, shard_id=key[1], kinesis=self.clients("kinesis"),
            invoke=self._invoke, send_to_destination=self.send_to_destination,
            record_invocation=self.invocation_log.append, function_role=function.role,
            poll_interval_s=self.poll_interval_s,
        )
        stop = threading.Event()
        worker = _Worker(consumer, threading.Thread(), stop)
        worker.thread = threading.Thread(target=self._run_worker, args=(worker,),
                                         name=f"esm-{key[1]}", daemon=True)
        self._workers[key] = worker
        worker.thread.start()
        log.info("consuming %s shard %s for %s", mapping.source_arn, key[1],
                 mapping.function_arn)

    def _stop_worker(self, key: tuple[str, str]) -> None:
        worker = self._workers.pop(key, None)
        if worker is not None:
            worker.stop.set()
            worker.thread.join(timeout=10)

    def _run_worker(self, worker: _Worker) -> None:
        while not worker.stop.is_set() and not self._stop.is_set():
            try:
                with worker.lock:
                    wake = worker.consumer.step(time.time())
            except Exception:
                log.exception("shard consumer failed; retrying",
                              extra={"shard": worker.consumer.shard_id})
                wake = time.time() + 1.0
            worker.stop.wait(max(0.0, min(wake - time.time(), self.poll_interval_s)))

    # -- effects -----------------------------------------------------------------------
    def _invoke(self, function_arn: str, event: dict[str, Any]) -> InvocationResult:
        return self.runtime.invoke(function_arn, event)

    def send_to_destination(self, arn: str, document: dict[str, Any]) -> None:
        """Deliver an on-failure record to an SQS queue or SNS topic, as Lambda does."""
        body = json.dumps(document)
        service = arn.split(":")[2]
        if service == "sqs":
            sqs = self.clients("sqs")
            url = sqs.get_queue_url(QueueName=arn.split(":")[5],
                                    QueueOwnerAWSAccountId=arn.split(":")[4])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self.clients("sns").publish(TopicArn=arn, Message=body)
        else:
            log.error("unsupported on-failure destination %s", arn)

    # -- observation -------------------------------------------------------------------
    def consumers(self) -> list[ShardConsumer]:
        with self._lock:
            return [w.consumer for w in self._workers.values()]

    def wait_until_idle(self, timeout_s: float, settle_polls: int = 2) -> bool:
        """Block until every consumer has drained its shard and closed its windows.

        A consumer counts as drained after ``settle_polls`` polls that began after this
        call, the last of which found nothing, with no open window or pending batch.
        Returns False when ``timeout_s`` passes first.
        """
        started = time.time()
        baseline = {id(c): c.polls for c in self.consumers()}
        discoveries = self._discoveries
        deadline = started + timeout_s
        while time.time() < deadline:
            consumers = self.consumers()
            if self._discoveries > discoveries and consumers and all(
                c.idle and c.polls - baseline.get(id(c), 0) >= settle_polls
                for c in consumers
            ):
                return True
            time.sleep(0.2)
        return False
