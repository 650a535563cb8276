"""Access-denied responses in each service's own protocol shape, as AWS sends them.

| service | IAM denial | KMS denial |
| --- | --- | --- |
| DynamoDB (+ Streams) | 400 JSON ``AccessDeniedException`` | 400 ``AccessDeniedException`` (1) |
| Kinesis | 400 JSON ``AccessDeniedException`` | 400 ``KMSAccessDeniedException`` |
| SQS (JSON) | 403 ``AccessDenied`` (2) | 400 ``KMS.AccessDeniedException`` (2) |
| SNS (query XML) | 403 ``AuthorizationError`` | 400 ``KMSAccessDenied`` |
| IAM, STS (query XML) | 403 ``AccessDenied`` | — |
| KMS, CloudWatch Logs, EventBridge | 400 JSON ``AccessDeniedException`` | — |
| Lambda (REST JSON) | 403 ``AccessDeniedException`` (``x-amzn-ErrorType``) | — |
| S3 (REST XML) | 403 ``AccessDenied`` | — |

(1) message "KMS key access denied error: …"; (2) the query-compatible code, in the
``x-amzn-query-error`` header botocore reads.
"""

from __future__ import annotations

import json
import uuid
import zlib
from dataclasses import dataclass
from xml.sax.saxutils import escape

_JSON_TYPES = {"dynamodb": "application/x-amz-json-1.0",
               "dynamodbstreams": "application/x-amz-json-1.0",
               "sqs": "application/x-amz-json-1.0"}
_QUERY_NAMESPACES = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
                     "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
                     "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
                     "sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}


@dataclass(frozen=True)
class ErrorResponse:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def denial_message(caller_arn: str, action: str, resource: str, explicit: bool) -> str:
    reason = ("with an explicit deny in an identity-based policy" if explicit
              else f"because no identity-based policy allows the {action} action")
    return (f"User: {caller_arn} is not authorized to perform: {action} "
            f"on resource: {resource} {reason}")


def access_denied(service: str, protocol: str, message: str) -> ErrorResponse:
    """The service's answer to a call its caller's IAM policies do not allow."""
    if service == "sqs":
        return _sqs(protocol, "AccessDenied", "AccessDeniedException", "403 Forbidden", message)
    if service == "sns":
        return _query_xml(service, "403 Forbidden", "AuthorizationError", message)
    if service in ("iam", "sts"):
        return _query_xml(service, "403 Forbidden", "AccessDenied", message)
    if service == "lambda":
        body = json.dumps({"Type": "User", "Message": message}).encode()
        return ErrorResponse("403 Forbidden", [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", "AccessDeniedException"),
            ("x-amzn-RequestId", str(uuid.uuid4()))], body)
    if service == "s3":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                f"<Message>{escape(message)}</Message><RequestId>{uuid.uuid4()}</RequestId>"
                "</Error>").encode()
        return ErrorResponse("403 Forbidden", [("Content-Type", "application/xml")], body)
    return _json(service, "400 Bad Request", "AccessDeniedException", message)


def kms_access_denied(service: str, protocol: str, message: str) -> ErrorResponse:
    """The service's answer when the caller may not use the resource's KMS key."""
    if service == "kinesis":
        return _json(service, "400 Bad Request", "KMSAccessDeniedException", message)
    if service == "sqs":
        return _sqs(protocol, "KMS.AccessDeniedException", "KmsAccessDenied",
                    "400 Bad Request", message)
    if service == "sns":
        return _query_xml(service, "400 Bad Request", "KMSAccessDenied", message)
    if service == "s3":  # S3 answers a refused key use as any other access denial
        return access_denied(service, protocol, message)
    return _json(service, "400 Bad Request", "AccessDeniedException",
                 f"KMS key access denied error: {message}")


def _json(service: str, status: str, code: str, message: str) -> ErrorResponse:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [("Content-Type", _JSON_TYPES.get(service, "application/x-amz-json-1.1")),
               ("x-amzn-RequestId", str(uuid.uuid4()))]
    if service in ("dynamodb", "dynamodbstreams"):
        headers.append(("x-amz-crc32", str(zlib.crc32(body))))
    return ErrorResponse(status, headers, body)


def _sqs(protocol: str, query_code: str, json_type: str, status: str,
         message: str) -> ErrorResponse:
    if protocol == "query":
        return _query_xml("sqs", status, query_code, message)
    body = json.dumps({"__type": f"com.amazonaws.sqs#{json_type}", "message": message})
    return ErrorResponse(status, [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-query-error", f"{query_code};Sender"),
        ("x-amzn-RequestId", str(uuid.uuid4()))], body.encode())


def _query_xml(service: str, status: str, code: str, message: str) -> ErrorResponse:
    namespace = _QUERY_NAMESPACES.get(service, "")
    body = (f"<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()
    return ErrorResponse(status, [("Content-Type", "text/xml")], body)


__all__ = ["ErrorResponse", "access_denied", "denial_message", "kms_access_denied"]
