"""Destinations Lambda sends records to, and the records' shapes (AWS Lambda developer
guide: "Retain discarded batch records" for Kinesis and DynamoDB streams, "Capturing
records of Lambda asynchronous invocations").

Delivery (``deliver``):

* SQS queue: the record is the message body;
* SNS topic: the record is the message. SNS messages are capped at 256 KB; when the
  invocation's request and response payloads together exceed that, Lambda drops them
  (``requestPayload`` and ``responsePayload``) and sends the rest of the record. A record
  that is still too large fails to deliver, as SNS refuses it;
* S3 bucket: the record is stored as a JSON object under a key Lambda chooses —
  ``aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<UUID>`` for an event
  source mapping, ``aws/lambda/async/<function-name>/YYYY/MM/DD/…`` for an asynchronous
  invocation (on failure only). For a stream mapping the object also carries
  ``payload``: the invocation event, an escaped JSON string.

Records of stream mappings (``stream_failure_record``): ``requestContext``,
``responseContext`` (absent when the records were never invoked), ``version`` "1.0",
``timestamp`` in UTC with milliseconds, and ``KinesisBatchInfo`` / ``DDBStreamBatchInfo``
with every field always present. Kinesis arrival times carry milliseconds; DynamoDB
stream records are stamped to the second, so theirs do not (as AWS's example shows).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

SNS_MESSAGE_LIMIT_BYTES = 256 * 1024
KINESIS_BATCH_INFO = "KinesisBatchInfo"
DYNAMODB_BATCH_INFO = "DDBStreamBatchInfo"

Clients = Callable[[str], Any]  # service name -> boto3 client for the embedded AWS


def iso_millis(epoch_s: float) -> str:
    """UTC with milliseconds, as in 2019-11-14T18:16:05.568Z."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_seconds(epoch_s: float) -> str:
    """UTC to the second, as in 2019-11-14T00:13:19Z."""
    return datetime.fromtimestamp(int(epoch_s), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def service_of(arn: str) -> str:
    """The service of an ARN (``sqs``, ``sns``, ``s3``, ``lambda``, ``events``), or ""."""
    parts = arn.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""


# -- records ---------------------------------------------------------------------------------
def batch_info(key: str, *, shard_id: str, stream_arn: str,
               first: tuple[str, float], last: tuple[str, float], size: int) -> dict[str, Any]:
    """``KinesisBatchInfo`` / ``DDBStreamBatchInfo``; ``first`` and ``last`` are the
    (sequence number, arrival) of the batch's first and last record."""
    arrival = iso_seconds if key == DYNAMODB_BATCH_INFO else iso_millis
    return {
        "shardId": shard_id,
        "startSequenceNumber": first[0],
        "endSequenceNumber": last[0],
        "approximateArrivalOfFirstRecord": arrival(first[1]),
        "approximateArrivalOfLastRecord": arrival(last[1]),
        "batchSize": size,
        "streamArn": stream_arn,
    }


def stream_failure_record(*, request_id: str, function_arn: str, condition: str,
                          invoke_count: int, function_error: str | None, invoked: bool,
                          now: float, batch_info_key: str, info: dict[str, Any],
                          executed_version: str = "$LATEST") -> dict[str, Any]:
    """The on-failure record of a stream mapping, fields in AWS's order."""
    document: dict[str, Any] = {"requestContext": {
        "requestId": request_id,
        "functionArn": function_arn,
        "condition": condition,
        "approximateInvokeCount": invoke_count,
    }}
    if invoked:
        document["responseContext"] = {"statusCode": 200, "executedVersion": executed_version,
                                       "functionError": function_error}
    document.update({"version": "1.0", "timestamp": iso_millis(now), batch_info_key: info})
    return document


def with_payload(document: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The S3 form of a stream on-failure record: plus the invocation event, as a string."""
    return {**document, "payload": json.dumps(event, separators=(",", ":"))}


# -- S3 object keys --------------------------------------------------------------------------
def _dated(now: float) -> str:
    moment = datetime.fromtimestamp(now, tz=UTC)
    return f"{moment:%Y/%m/%d}/{moment:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"


def mapping_object_key(mapping_uuid: str, shard_id: str, now: float) -> str:
    return f"aws/lambda/{mapping_uuid}/{shard_id}/{_dated(now)}"


def async_object_key(function_name: str, now: float) -> str:
    return f"aws/lambda/async/{function_name}/{_dated(now)}"


# -- delivery ----------------------------------------------------------------------------------
def within_sns_limit(record: dict[str, Any]) -> dict[str, Any]:
    """Drop ``requestPayload`` and ``responsePayload`` when together they pass 256 KB."""
    payloads = [json.dumps(record[key]).encode() for key in ("requestPayload", "responsePayload")
                if key in record]
    if sum(map(len, payloads)) <= SNS_MESSAGE_LIMIT_BYTES:
        return record
    return {key: value for key, value in record.items()
            if key not in ("requestPayload", "responsePayload")}


def queue_url(sqs: Any, account: str, name: str) -> str:
    """A queue's URL from its account and name on the client's endpoint. Lambda reaches a
    queue by its ARN with the execution role, which is granted the actions it uses
    (SendMessage; ReceiveMessage, DeleteMessage, GetQueueAttributes), not GetQueueUrl."""
    return f"{sqs.meta.endpoint_url.rstrip('/')}/{account}/{name}"


def deliver(clients: Clients, arn: str, document: dict[str, Any], *,
            object_key: str | None = None) -> None:
    """Send a record to an SQS queue, an SNS topic or (with ``object_key``) an S3 bucket."""
    service = service_of(arn)
    if service == "sqs":
        sqs = clients("sqs")
        parts = arn.split(":")
        sqs.send_message(QueueUrl=queue_url(sqs, parts[4], parts[5]),
                         MessageBody=json.dumps(document))
    elif service == "sns":
        clients("sns").publish(TopicArn=arn, Message=json.dumps(within_sns_limit(document)))
    elif service == "s3":
        if object_key is None:
            raise ValueError(f"an S3 destination needs an object key: {arn}")
        clients("s3").put_object(Bucket=arn.split(":")[5], Key=object_key,
                                 Body=json.dumps(document).encode(),
                                 ContentType="application/json")
    else:
        raise ValueError(f"unsupported destination: {arn}")
