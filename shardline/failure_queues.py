"""Which failure queues a stack has, and how deep each one is.

Two kinds (``shardline dlq``): the stream consumers' on-failure queue (Terraform output
``failure_queue_url``; failed batches, ``shardline.dlq``) and one queue per fanout worker
(output ``worker_failure_queues``: worker -> {name, url, arn}; failed asynchronous events,
``shardline.worker_failures``). Without a local stack the names Terraform gives them with
the default prefix are the fallback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shardline.errors import ShardlineError
from shardline.stack_outputs import StackOutputs, queue_name_of

DEFAULT_STREAM_FAILURE_QUEUE = "shardline-stream-failures"
DEFAULT_PREFIX = "shardline"
STREAM = "stream"


@dataclass(frozen=True)
class QueueRef:
    kind: str  # "stream", or the worker's name
    name: str


def stream_failure_queue(outputs: StackOutputs) -> str:
    url = outputs.get("failure_queue_url")
    return queue_name_of(str(url)) if url else DEFAULT_STREAM_FAILURE_QUEUE


def worker_queue_names(outputs: StackOutputs) -> dict[str, str]:
    """worker -> failure queue name, from the outputs (empty without them)."""
    return {str(worker): str(entry.get("name") or queue_name_of(str(entry.get("url", ""))))
            for worker, entry in outputs.mapping("worker_failure_queues").items()
            if isinstance(entry, dict)}


def worker_failure_queue(outputs: StackOutputs, worker: str) -> str:
    """The failure queue of ``worker``: from the outputs, else (no stack outputs at all)
    the name Terraform gives it with the default prefix."""
    known = worker_queue_names(outputs)
    if worker in known:
        return known[worker]
    if outputs.source is None:
        return f"{DEFAULT_PREFIX}-{worker.replace('_', '-')}-failures"
    listed = ", ".join(sorted(known)) or "none"
    raise ShardlineError(f"unknown worker {worker!r}: the stack's workers with a failure "
                         f"queue are {listed}")


def all_failure_queues(outputs: StackOutputs) -> list[QueueRef]:
    """The stream failure queue, then each worker's, by worker name."""
    workers = worker_queue_names(outputs)
    return [QueueRef(STREAM, stream_failure_queue(outputs)),
            *(QueueRef(worker, workers[worker]) for worker in sorted(workers))]


def depth_rows(sqs: Any, queues: list[QueueRef]) -> list[dict[str, Any]]:
    """One row per queue: messages waiting and in flight (SQS's approximate counts), and
    the same for its dead-letter queue when it has one."""
    rows = []
    for ref in queues:
        url = sqs.get_queue_url(QueueName=ref.name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "RedrivePolicy"]).get("Attributes", {})
        rows.append({"kind": ref.kind, "queue": ref.name,
                     "messages": int(attributes.get("ApproximateNumberOfMessages", 0)),
                     "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible",
                                                     0)),
                     "dead_letter": _dead_letter_depth(sqs, attributes.get("RedrivePolicy"))})
    return rows


def _dead_letter_depth(sqs: Any, redrive_policy: str | None) -> str:
    if not redrive_policy:
        return "-"
    name = str(json.loads(redrive_policy).get("deadLetterTargetArn", "")).rsplit(":", 1)[-1]
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    count = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"]).get("Attributes", {}).get("ApproximateNumberOfMessages")
    return f"{name}: {count or 0}"


__all__ = ["QueueRef", "all_failure_queues", "depth_rows", "stream_failure_queue",
           "worker_failure_queue", "worker_queue_names"]
