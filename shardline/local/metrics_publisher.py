"""Publishes the metrics AWS would to the embedded CloudWatch (a driver component).

Every period (60 s of the engine's clock, the resolution of Lambda's and SQS's standard
metrics) it puts, through the administrator's client:

* AWS/Lambda ``Invocations``, ``Errors``, ``Throttles``, ``Duration`` and ``IteratorAge``
  per ``FunctionName`` for the minute that just ended, from the engine's invocation log
  (``metric_data.lambda_metric_data``);
* AWS/SQS ``ApproximateNumberOfMessagesVisible`` per ``QueueName``, for every queue;
* AWS/DynamoDB ``ReadThrottleEvents`` / ``WriteThrottleEvents`` per ``TableName`` for
  the requests the embedded DynamoDB throttled (its fault layer), when given;
* AWS/Kinesis stream-level write metrics (``IncomingRecords``, ``IncomingBytes``,
  ``PutRecord(s).*``, ``WriteProvisionedThroughputExceeded``) per ``StreamName`` from
  the embedded AWS's log of puts (``kinesis_writes``), when given;
* the functions' embedded-metric-format lines, read from their log files since the last
  step (what CloudWatch Logs extracts on AWS).

Datapoints are stamped with the start of their minute, so the alarm evaluator finds
them in the period they belong to.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shardline.local.kinesis_metric_data import KINESIS_NAMESPACE, kinesis_metric_data
from shardline.local.kinesis_writes import PutOutcome
from shardline.local.metric_data import (
    DYNAMODB_NAMESPACE,
    LAMBDA_NAMESPACE,
    SQS_NAMESPACE,
    dynamodb_throttle_data,
    emf_metric_data,
    lambda_metric_data,
    queue_depth_datum,
)

log = logging.getLogger("shardline.metrics")

PERIOD_S = 60
PUT_BATCH = 1000  # PutMetricData takes at most 1,000 metrics per request


@dataclass
class EmfTail:
    """Reads the complete lines appended to each function log since the last read."""

    directory: Path | None
    _offsets: dict[Path, int] = field(default_factory=dict)

    def skip_existing(self) -> None:
        """Start after what the files hold now (logs of an earlier stack)."""
        for path in self._paths():
            self._offsets[path] = path.stat().st_size

    def _paths(self) -> list[Path]:
        if self.directory is None or not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.log"))

    def new_lines(self) -> list[str]:
        lines: list[str] = []
        for path in self._paths():
            offset = self._offsets.get(path, 0)
            if path.stat().st_size < offset:  # truncated: read it again from the start
                offset = 0
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[path] = offset + len(complete)
            lines.extend(complete.decode("utf-8", errors="replace").splitlines())
        return lines


@dataclass
class MetricsPublisher:
    """Driver component: the AWS/Lambda, AWS/SQS, AWS/DynamoDB, AWS/Kinesis and EMF
    metrics of each minute."""

    clients: Callable[[str], Any]  # the administrator's clients of the embedded AWS
    invocation_log: Any  # the engine's invocation log (entries with ``at``)
    log_dir: Path | None = None
    # since -> DynamoDB requests throttled from then on (the fault layer's record).
    throttle_events: Callable[[float], list[tuple[float, str, str]]] | None = None
    # since -> Kinesis puts from then on (the embedded AWS's write limits layer).
    kinesis_puts: Callable[[float], list[PutOutcome]] | None = None
    period_s: int = PERIOD_S
    name: str = "metrics-publisher"
    _published_until: float | None = None
    _depths_at: float | None = None  # the boundary whose queue depths were put last
    _emf: EmfTail = field(init=False)

    def __post_init__(self) -> None:
        self._emf = EmfTail(self.log_dir)
        self._emf.skip_existing()

    def step(self, now: float) -> float:
        boundary = math.floor(now / self.period_s) * self.period_s
        if self._published_until is None:
            self._published_until = boundary - self.period_s
        while self._published_until + self.period_s <= boundary:
            start = self._published_until
            self._put(LAMBDA_NAMESPACE, lambda_metric_data(
                list(self.invocation_log), start, start + self.period_s))
            if self.throttle_events is not None:
                self._put(DYNAMODB_NAMESPACE, dynamodb_throttle_data(
                    self.throttle_events(start), start, start + self.period_s))
            if self.kinesis_puts is not None:
                self._put(KINESIS_NAMESPACE, kinesis_metric_data(
                    self.kinesis_puts(start), start, start + self.period_s))
            self._published_until = start + self.period_s
        # The depth now is the state at the end of the minute that just ended: one sample
        # a minute, as SQS sends them (a real-time driver steps this every second).
        if self._depths_at != boundary:
            self._put(SQS_NAMESPACE, self._queue_depths(boundary - self.period_s))
            self._depths_at = boundary
        self._publish_emf()
        return boundary + self.period_s

    def _queue_depths(self, at: float) -> list[dict[str, Any]]:
        sqs = self.clients("sqs")
        data = []
        for url in sqs.list_queues().get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            visible = int(attributes.get("ApproximateNumberOfMessages", 0))
            data.append(queue_depth_datum(url.rsplit("/", 1)[-1], visible, at))
        return data

    def _publish_emf(self) -> None:
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in self._emf.new_lines():
            for namespace, datum in emf_metric_data(line):
                by_namespace[namespace].append(datum)
        for namespace, data in by_namespace.items():
            self._put(namespace, data)

    def _put(self, namespace: str, data: list[dict[str, Any]]) -> None:
        cloudwatch = self.clients("cloudwatch")
        for first in range(0, len(data), PUT_BATCH):
            cloudwatch.put_metric_data(Namespace=namespace,
                                       MetricData=data[first:first + PUT_BATCH])
