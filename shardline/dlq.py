"""The stream consumers' failure queue: list failed batches, replay them.

Lambda sends an on-failure record (AWS-SEMANTICS.md) for every batch whose retries or
record age ran out: metadata only — ``KinesisBatchInfo`` {shardId, startSequenceNumber,
endSequenceNumber, batchSize, streamArn, ...} — never the records. ``replay`` re-reads
exactly those records from the stream (GetShardIterator AT_SEQUENCE_NUMBER, then
GetRecords until endSequenceNumber) and re-drives them through the function with a
synchronous Invoke, as one final tumbling-window invocation carrying
``replay: {"segment": "replay-<startSequenceNumber>"}``: the aggregator writes that
batch's partials under this segment, so a second replay rewrites the same items and
never collides with the partials of the batch's original window. The queue message is
deleted only after the function succeeded (no function error, no batchItemFailures).

SQS has no peek: listing receives the messages and makes them visible again at once, which
counts as a receive towards the queue's maxReceiveCount; a message moved on to the queue's
own dead-letter queue is still listed and replayed (``queue`` column ``dead-letter``).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from shardline.errors import ShardlineError

DEFAULT_FAILURE_QUEUE = "shardline-stream-failures"
# A message being replayed stays hidden this long; the invoke has the function's timeout.
REPLAY_VISIBILITY_S = 900
MAX_GET_RECORDS_CALLS = 10_000
KINESIS = "kinesis"
DYNAMODB = "dynamodb"


@dataclass(frozen=True)
class FailedBatch:
    """One on-failure record of the queue."""

    queue: str  # "failures" or "dead-letter"
    queue_url: str
    message_id: str
    receipt_handle: str
    source: str  # kinesis or dynamodb
    shard_id: str
    start_sequence_number: str
    end_sequence_number: str
    batch_size: int
    stream_arn: str
    condition: str
    invoke_count: int
    function_arn: str
    timestamp: str
    first_arrival: str | None = None
    last_arrival: str | None = None
    function_error: str | None = None

    @property
    def replay_segment(self) -> str:
        return f"replay-{self.start_sequence_number}"

    def as_row(self) -> dict[str, Any]:
        return {
            "when": self.timestamp,
            "queue": self.queue,
            "source": self.source,
            "shard": self.shard_id,
            "start_sequence": self.start_sequence_number,
            "end_sequence": self.end_sequence_number,
            "batch_size": self.batch_size,
            "condition": self.condition,
            "invoke_count": self.invoke_count,
            # arn:aws:lambda:<region>:<account>:function:<name>[:<alias or version>]
            "function": ":".join(self.function_arn.split(":")[6:]),
        }


def parse_failure_record(body: str, *, queue: str, queue_url: str, message_id: str,
                         receipt_handle: str) -> FailedBatch:
    """A failure-queue message body (Lambda's on-failure record) as a ``FailedBatch``."""
    try:
        record = json.loads(body)
    except ValueError:
        raise ShardlineError(f"message {message_id} in {queue_url} is not an on-failure "
                             "record (not JSON)") from None
    info = record.get("KinesisBatchInfo") if isinstance(record, dict) else None
    source = KINESIS
    if info is None and isinstance(record, dict):
        info, source = record.get("DDBStreamBatchInfo"), DYNAMODB
    if not isinstance(info, dict):
        raise ShardlineError(f"message {message_id} in {queue_url} has no KinesisBatchInfo "
                             "or DDBStreamBatchInfo: not a stream on-failure record")
    request = record.get("requestContext") or {}
    response = record.get("responseContext") or {}
    return FailedBatch(
        queue=queue,
        queue_url=queue_url,
        message_id=message_id,
        receipt_handle=receipt_handle,
        source=source,
        shard_id=str(info.get("shardId", "")),
        start_sequence_number=str(info.get("startSequenceNumber", "")),
        end_sequence_number=str(info.get("endSequenceNumber", "")),
        batch_size=int(info.get("batchSize") or 0),
        stream_arn=str(info.get("streamArn", "")),
        condition=str(request.get("condition", "")),
        invoke_count=int(request.get("approximateInvokeCount") or 0),
        function_arn=str(request.get("functionArn", "")),
        timestamp=str(record.get("timestamp", "")),
        first_arrival=info.get("approximateArrivalOfFirstRecord"),
        last_arrival=info.get("approximateArrivalOfLastRecord"),
        function_error=response.get("functionError"),
    )


@dataclass
class FailureQueue:
    """The failure queue and, when it has a redrive policy, its dead-letter queue.

    Records are stream failed batches; ``parse`` and the orders are the hooks a queue of
    another record kind overrides (``shardline.worker_failures.WorkerFailureQueue``)."""

    sqs: Any
    queue_name: str = DEFAULT_FAILURE_QUEUE
    _urls: list[tuple[str, str]] | None = field(default=None, init=False)

    def urls(self) -> list[tuple[str, str]]:
        if self._urls is None:
            url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
            urls = [("failures", url)]
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
            if attributes.get("RedrivePolicy"):
                target = json.loads(attributes["RedrivePolicy"]).get("deadLetterTargetArn", "")
                dlq_name = target.rsplit(":", 1)[-1]
                if dlq_name:
                    dlq_url = self.sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
                    urls.append(("dead-letter", dlq_url))
            self._urls = urls
        return self._urls

    def _receive_all(self, queue: str, url: str, visibility_s: int) -> Iterator[Any]:
        seen: set[str] = set()
        while True:
            response = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility_s,
                WaitTimeSeconds=0, AttributeNames=["All"])
            messages = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not messages:
                return
            for message in messages:
                seen.add(message["MessageId"])
                yield self.parse(message, queue=queue, queue_url=url)

    def parse(self, message: dict[str, Any], *, queue: str, queue_url: str) -> Any:
        """One received message as a record of this queue's kind (here: a failed batch)."""
        return parse_failure_record(message["Body"], queue=queue, queue_url=queue_url,
                                    message_id=message["MessageId"],
                                    receipt_handle=message["ReceiptHandle"])

    @staticmethod
    def listing_order(batch: Any) -> tuple[Any, ...]:
        return (batch.timestamp, batch.shard_id, int(batch.start_sequence_number or 0))

    @staticmethod
    def replay_order(batch: Any) -> tuple[Any, ...]:
        return (batch.shard_id, int(batch.start_sequence_number or 0))

    def peek(self) -> list[Any]:
        """Every queued failed batch, left in the queue (visible again when this returns)."""
        batches: list[Any] = []
        for queue, url in self.urls():
            received = list(self._receive_all(queue, url, visibility_s=60))
            for batch in received:
                self.release(batch)
            batches.extend(received)
        batches.sort(key=self.listing_order)
        return batches

    def take(self) -> list[Any]:
        """Every queued failed batch, hidden for ``REPLAY_VISIBILITY_S`` while it is replayed."""
        batches: list[Any] = []
        for queue, url in self.urls():
            batches.extend(self._receive_all(queue, url, visibility_s=REPLAY_VISIBILITY_S))
        batches.sort(key=self.replay_order)
        return batches

    def release(self, batch: Any) -> None:
        self.sqs.change_message_visibility(QueueUrl=batch.queue_url,
                                           ReceiptHandle=batch.receipt_handle,
                                           VisibilityTimeout=0)

    def delete(self, batch: Any) -> None:
        self.sqs.delete_message(QueueUrl=batch.queue_url, ReceiptHandle=batch.receipt_handle)


def stream_name_of(stream_arn: str) -> str:
    return stream_arn.rsplit("/", 1)[-1]


def read_batch_records(kinesis: Any, batch: FailedBatch) -> list[dict[str, Any]]:
    """The Kinesis records of the batch, from its start to its end sequence number."""
    start, end = int(batch.start_sequence_number), int(batch.end_sequence_number)
    try:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name_of(batch.stream_arn), ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=batch.start_sequence_number)["ShardIterator"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("InvalidArgumentException", "TrimmedDataAccessException"):
            raise ShardlineError(_expired(batch, exc.response["Error"].get("Message", code)))\
                from None
        raise
    records: list[dict[str, Any]] = []
    done = False
    for _ in range(MAX_GET_RECORDS_CALLS):
        try:
            response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TrimmedDataAccessException":
                raise ShardlineError(_expired(batch, "trimmed")) from None
            raise
        page = response.get("Records", [])
        for record in page:
            sequence = int(record["SequenceNumber"])
            if sequence > end:
                done = True
                break
            records.append(record)
            if sequence == end:
                done = True
                break
        iterator = response.get("NextShardIterator")
        at_tip = not page and not response.get("MillisBehindLatest")
        if done or iterator is None or at_tip:
            break
    if not records or int(records[0]["SequenceNumber"]) != start:
        raise ShardlineError(_expired(batch, "the stream no longer holds its first record"))
    if int(records[-1]["SequenceNumber"]) != end:
        raise ShardlineError(
            f"failed batch {batch.shard_id} {start}…{end}: the stream ends at "
            f"{records[-1]['SequenceNumber']} before the batch's last record")
    return records


def _expired(batch: FailedBatch, detail: str) -> str:
    return (f"records of failed batch {batch.shard_id} {batch.start_sequence_number}…"
            f"{batch.end_sequence_number} expired from the stream ({detail}); it cannot be "
            "replayed (raise stream_retention_hours to keep records longer)")


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def _epoch(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value)


def replay_event(batch: FailedBatch, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The final tumbling-window event re-driving ``records`` under the replay segment.

    The window starts at the first record's arrival second: deterministic for the batch,
    so replaying it again writes the same partial items.
    """
    region = batch.stream_arn.split(":")[3] if batch.stream_arn.count(":") >= 5 else ""
    first_arrival = _epoch(records[0]["ApproximateArrivalTimestamp"])
    window_start = int(first_arrival)
    event_records = []
    for record in records:
        data = record["Data"]
        event_records.append({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(data).decode("ascii"),
                "approximateArrivalTimestamp": round(
                    _epoch(record["ApproximateArrivalTimestamp"]), 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{batch.shard_id}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "awsRegion": region,
            "eventSourceARN": batch.stream_arn,
        })
    return {
        "Records": event_records,
        "window": {"start": _iso(window_start), "end": _iso(window_start + 1)},
        "state": {},
        "shardId": batch.shard_id,
        "eventSourceARN": batch.stream_arn,
        "isFinalInvokeForWindow": True,
        "isWindowTerminatedEarly": False,
        "replay": {"segment": batch.replay_segment},
    }


@dataclass(frozen=True)
class ReplayOutcome:
    batch: FailedBatch
    records: int


def redrive(lambda_client: Any, function: str, batch: FailedBatch,
            event: dict[str, Any]) -> None:
    """Invoke the function synchronously; ``ShardlineError`` unless it fully succeeded."""
    response = lambda_client.invoke(FunctionName=function, InvocationType="RequestResponse",
                                    Payload=json.dumps(event).encode("utf-8"))
    payload_bytes = response["Payload"].read()
    where = f"replaying {batch.shard_id} {batch.start_sequence_number}…" \
            f"{batch.end_sequence_number} through {function}"
    try:
        payload = json.loads(payload_bytes) if payload_bytes else None
    except ValueError:
        payload = None
    if response.get("FunctionError"):
        detail = payload.get("errorMessage") if isinstance(payload, dict) else payload_bytes[:200]
        raise ShardlineError(f"function error {where}: {detail}; the failure stays queued")
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures:
        first = failures[0].get("itemIdentifier") if isinstance(failures[0], dict) else None
        raise ShardlineError(f"function error {where}: {len(failures)} records failed again "
                             f"(first {first}); the failure stays queued")
    if not isinstance(payload, dict) or "state" not in payload:
        raise ShardlineError(f"function error {where}: the response has no window state; "
                             "the failure stays queued")


def replay(queue: FailureQueue, kinesis: Any, lambda_client: Any, *,
           function: str | None = None,
           on_replayed: Callable[[ReplayOutcome], None] | None = None) -> list[ReplayOutcome]:
    """Replay every queued Kinesis failed batch, in shard and sequence order.

    Stops at the first batch that cannot be replayed (raising ``ShardlineError``); that
    batch and the ones not yet replayed stay queued and visible again.
    """
    batches = queue.take()
    if not batches:
        raise ShardlineError("no failed batches are queued in "
                             f"{queue.queue_name}: nothing to replay")
    replayable = [b for b in batches if b.source == KINESIS]
    for batch in batches:
        if batch.source != KINESIS:
            queue.release(batch)
    if not replayable:
        raise ShardlineError(f"the {len(batches)} failed batches queued in {queue.queue_name} "
                             "come from DynamoDB streams; only Kinesis batches are replayed")
    outcomes: list[ReplayOutcome] = []
    for index, batch in enumerate(replayable):
        try:
            records = read_batch_records(kinesis, batch)
            target = function or batch.function_arn
            if not target:
                raise ShardlineError(f"failed batch {batch.message_id} names no function: "
                                     "pass --function")
            redrive(lambda_client, target, batch, replay_event(batch, records))
        except BaseException:
            for pending in replayable[index:]:
                queue.release(pending)
            raise
        queue.delete(batch)
        outcome = ReplayOutcome(batch, len(records))
        outcomes.append(outcome)
        if on_replayed is not None:
            on_replayed(outcome)
    return outcomes


__all__ = [
    "DEFAULT_FAILURE_QUEUE",
    "FailedBatch",
    "FailureQueue",
    "ReplayOutcome",
    "parse_failure_record",
    "read_batch_records",
    "redrive",
    "replay",
    "replay_event",
]
