"""KMS keys in the embedded AWS: who may use a key, and which keys a request needs.

**Use of a key** is decided as AWS KMS does: the key policy (stored by moto) and the
caller's IAM policies together. A key policy statement that names the account
(``arn:aws:iam::<acct>:root`` or the account id) only *delegates* to IAM: it allows the
caller when an IAM policy allows the action on the key as well. A statement naming the
caller's role, user or ``*`` allows it by itself. An explicit deny in either wins.

**Keys a request needs**: a call on a resource encrypted with a customer managed key makes
the service use the key *as the caller* (``kms:ViaService`` is
``<service>.<region>.amazonaws.com``):

| service | operations | KMS actions |
| --- | --- | --- |
| Kinesis | PutRecord, PutRecords | kms:GenerateDataKey |
| Kinesis | GetRecords, SubscribeToShard | kms:Decrypt |
| SQS | SendMessage(Batch) | kms:GenerateDataKey, kms:Decrypt |
| SQS | ReceiveMessage | kms:Decrypt |
| SNS | Publish(Batch) | kms:GenerateDataKey, kms:Decrypt |
| DynamoDB | item reads/writes, Query, Scan, batches, transactions | kms:Decrypt |
| DynamoDB Streams | GetRecords | kms:Decrypt (the table's key) |
| S3 | PutObject | kms:GenerateDataKey |
| S3 | CreateMultipartUpload | kms:GenerateDataKey, kms:Decrypt (parts are decrypted to complete) |
| S3 | GetObject | kms:Decrypt (the object's key) |

An S3 write uses the key its request names (``x-amz-server-side-encryption: aws:kms``
with ``…-aws-kms-key-id``), else the bucket's default encryption; a read uses the key
the object was stored with. ``aws:kms`` without a key id means the AWS managed
``aws/s3`` key. A bucket key changes how often S3 calls KMS, not who must be allowed.

AWS managed keys (``aws/sqs`` …) allow every principal of the account through their
service, so only customer managed keys are checked.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shardline.local.iam_policy import Context, Decision, Policy, Principal, evaluate
from shardline.local.identities import Identity

_DDB_ITEM_OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
    "BatchWriteItem", "TransactGetItems", "TransactWriteItems", "ExecuteStatement",
    "BatchExecuteStatement", "ExecuteTransaction",
})
_NEEDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("kinesis", "PutRecord"): ("kms:GenerateDataKey",),
    ("kinesis", "PutRecords"): ("kms:GenerateDataKey",),
    ("kinesis", "GetRecords"): ("kms:Decrypt",),
    ("kinesis", "SubscribeToShard"): ("kms:Decrypt",),
    ("sqs", "SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessageBatch"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "ReceiveMessage"): ("kms:Decrypt",),
    ("sns", "Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sns", "PublishBatch"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("dynamodbstreams", "GetRecords"): ("kms:Decrypt",),
    **{("dynamodb", op): ("kms:Decrypt",) for op in _DDB_ITEM_OPERATIONS},
    ("s3", "PutObject"): ("kms:GenerateDataKey",),
    ("s3", "CreateMultipartUpload"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("s3", "GetObject"): ("kms:Decrypt",),
}
_S3_ARN_PREFIX = "arn:aws:s3:::"
_VIA = {"dynamodbstreams": "dynamodb"}


@dataclass(frozen=True)
class KeyUse:
    """A KMS action a request makes its service perform with a key, as the caller."""

    action: str
    key_arn: str
    resource_arn: str  # the encrypted table, stream, queue or topic
    via_service: str  # e.g. kinesis.us-east-1.amazonaws.com


def _kms_backend(account: str, region: str) -> Any:
    from moto.kms.models import kms_backends
    return kms_backends[account][region]


def _key(key_id: str, account: str, region: str) -> Any:
    backend = _kms_backend(account, region)
    if ":key/" in key_id:  # a key ARN: no alias to resolve (the common case, and cheap)
        return backend.keys.get(key_id.rsplit("/", 1)[1])
    try:
        return backend.keys.get(backend.any_id_to_key_id(key_id))
    except Exception:  # an unknown alias: moto raises its NotFound
        return None


def key_arn(key_id: str, account: str, region: str) -> str | None:
    """The ARN of a key named by id, ARN, alias name or alias ARN (None if unknown)."""
    key = _key(key_id, account, region)
    return key.arn if key is not None else None


def needed_key_uses(service: str, operation: str, resource_arns: list[str],
                    region: str, *, account: str = "",
                    params: Mapping[str, Any] | None = None) -> list[KeyUse]:
    """The KMS actions the request makes its service perform with customer managed keys.
    ``account`` and ``params`` are needed for S3 (its ARNs carry no account; a write may
    name its key in headers)."""
    actions = _NEEDS.get((service, operation))
    if not actions:
        return []
    uses = []
    via = f"{_VIA.get(service, service)}.{region}.amazonaws.com"
    for resource in dict.fromkeys(resource_arns):
        if service == "s3":
            key = _s3_key(operation, resource, account, region, params or {})
        else:
            key = _resource_key(service, resource)
        if key is None or getattr(key, "key_manager", "CUSTOMER") != "CUSTOMER":
            continue
        uses += [KeyUse(action, key.arn, resource, via) for action in actions]
    return uses


def _s3_key(operation: str, resource_arn: str, account: str, region: str,
            params: Mapping[str, Any]) -> Any:
    """The customer managed key an S3 object request uses, else None."""
    if not resource_arn.startswith(_S3_ARN_PREFIX) or not account:
        return None
    bucket_name, _, object_key = resource_arn[len(_S3_ARN_PREFIX):].partition("/")
    from moto.s3.models import s3_backends
    bucket = s3_backends[account]["aws"].buckets.get(bucket_name)
    if bucket is None or not object_key:
        return None
    if operation == "GetObject":
        stored = bucket.keys.get(object_key)
        key_id = getattr(stored, "kms_key_id", None) \
            if getattr(stored, "encryption", None) == "aws:kms" else None
    elif "ServerSideEncryption" in params:
        key_id = params.get("SSEKMSKeyId") if str(params["ServerSideEncryption"]).startswith(
            "aws:kms") else None
    else:
        key_id = _bucket_default_key(bucket)
    return _key(str(key_id), account, region) if key_id else None


def _bucket_default_key(bucket: Any) -> str | None:
    """KMSMasterKeyID of the bucket's default encryption when it is SSE-KMS."""
    rules = (getattr(bucket, "encryption", None) or {}).get("Rule") or []
    for rule in rules if isinstance(rules, list) else [rules]:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
            return default.get("KMSMasterKeyID")
    return None


def _resource_key(service: str, resource_arn: str) -> Any:
    """The customer managed key that encrypts a resource, else None."""
    parts = resource_arn.split(":", 5)
    if len(parts) < 6:
        return None
    region, account, rest = parts[3], parts[4], parts[5]
    key_id = None
    if service in ("dynamodb", "dynamodbstreams"):
        from moto.dynamodb.models import dynamodb_backends
        table = dynamodb_backends[account][region].tables.get(rest.split("/")[1])
        sse = getattr(table, "sse_specification", None) or {}
        if sse.get("Enabled") and sse.get("SSEType", "KMS") == "KMS":
            key_id = sse.get("KMSMasterKeyId")
    elif service == "kinesis":
        from moto.kinesis.models import kinesis_backends
        stream = kinesis_backends[account][region].streams.get(rest.split("/")[1])
        if stream is not None and stream.encryption_type == "KMS":
            key_id = stream.key_id
    elif service == "sqs":
        from moto.sqs.models import sqs_backends
        queue = sqs_backends[account][region].queues.get(rest)
        key_id = getattr(queue, "kms_master_key_id", None)
    elif service == "sns":
        from moto.sns.models import sns_backends
        topic = sns_backends[account][region].topics.get(resource_arn)
        key_id = getattr(topic, "kms_master_key_id", None)
    return _key(str(key_id), account, region) if key_id else None


def resource_key(service: str, resource_arn: str) -> Any:
    """The customer managed key encrypting a table, stream, queue or topic, else None."""
    key = _resource_key(service, resource_arn)
    if key is None or getattr(key, "key_manager", "CUSTOMER") != "CUSTOMER":
        return None
    return key


class KeyPolicies:
    """Compiled key policies, recompiled when a key's policy text changes."""

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[str, Policy]] = {}
        self._lock = threading.Lock()

    def _policy(self, key: Any) -> Policy:
        text = key.policy or "{}"
        with self._lock:
            cached = self._compiled.get(key.arn)
            if cached is None or cached[0] != text:
                cached = (text, Policy(text))
                self._compiled[key.arn] = cached
            return cached[1]

    def decide_for_service(self, principal: Principal, action: str, key: Any,
                           context: Context) -> Decision:
        """May an AWS service principal use the key on its own behalf? Only the key
        policy decides (no IAM policy applies to a service)."""
        allowed = False
        for statement in self._policy(key).matching(action, key.arn, context, principal):
            if statement.deny:
                return Decision.EXPLICIT_DENY
            allowed = True
        return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY

    def decide(self, identity: Identity, action: str, key_arn_: str,
               context: Context) -> Decision:
        """May ``identity`` perform ``action`` with the key (key policy + IAM)?"""
        if identity.administrator:
            return Decision.ALLOW
        parts = key_arn_.split(":")
        key = _key(key_arn_, parts[4], parts[3]) if len(parts) > 5 else None
        if key is None:
            return Decision.IMPLICIT_DENY
        direct = delegated = False
        principal = identity.principal
        for statement in self._policy(key).matching(action, key.arn, context, principal):
            if statement.deny:
                return Decision.EXPLICIT_DENY
            if statement.names_account_root(principal.account):
                delegated = True
            else:
                direct = True
        iam = evaluate(identity.policies, action, key.arn, context)
        if iam is Decision.EXPLICIT_DENY:
            return iam
        if direct or (delegated and iam is Decision.ALLOW):
            return Decision.ALLOW
        return Decision.IMPLICIT_DENY


__all__ = ["KeyPolicies", "KeyUse", "key_arn", "needed_key_uses", "resource_key"]
