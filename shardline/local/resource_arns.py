"""The IAM action(s) and resource ARN(s) a request is authorized against, per service.

Each rule follows the Service Authorization Reference: the action name is the operation's
(with the exceptions listed in ``_ACTION_NAMES``), the resource is the ARN of what the
request names (table, index, stream, queue, function, key, topic, log group, rule, bucket,
object, role …) and ``*`` for actions that have no resource type. A request on several
resources (``BatchWriteItem`` over two tables) is one check per resource, all required.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardline.local.aws_requests import AwsRequest

_ACTION_NAMES = {
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
}
_IAM_PREFIX = {"dynamodbstreams": "dynamodb"}


@dataclass(frozen=True)
class Check:
    action: str  # e.g. dynamodb:Query
    resource: str
    context: dict[str, Any] = field(default_factory=dict)  # request-specific condition keys


@dataclass(frozen=True)
class Scope:
    account: str
    region: str

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"


def checks(request: AwsRequest, account: str) -> list[Check]:
    """Every (action, resource) the request needs; empty when no permission is needed."""
    name = _ACTION_NAMES.get((request.service, request.operation), request.operation)
    action = f"{_IAM_PREFIX.get(request.service, request.service)}:{name}"
    if request.service == "sts" and request.operation == "GetCallerIdentity":
        return []  # needs no permission on AWS
    scope = Scope(account, request.region)
    resolver = _RESOLVERS.get(request.service)
    found = resolver(request, scope) if resolver else ["*"]
    return [item if isinstance(item, Check) else Check(action, item) for item in found] or \
        [Check(action, "*")]


# -- per service -------------------------------------------------------------------------

def _dynamodb(request: AwsRequest, scope: Scope) -> list[Any]:
    params, operation = request.params, request.operation
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [Check(f"dynamodb:{operation}", scope.arn("dynamodb", f"table/{table}"),
                      _leading_keys(scope, table, _batch_items(entries)))
                for table, entries in (params.get("RequestItems") or {}).items()]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return _transact(params, scope)
    table = params.get("TableName") or params.get("ResourceArn", "")
    if not table:
        return ["*"]
    arn = table if table.startswith("arn:") else scope.arn("dynamodb", f"table/{table}")
    if params.get("IndexName"):
        arn = f"{arn}/index/{params['IndexName']}"
    item = params.get("Key") or params.get("Item")
    context = _leading_keys(scope, table, [item]) if item else {}
    return [Check(f"dynamodb:{operation}", arn, context)]


def _transact(params: dict[str, Any], scope: Scope) -> list[Any]:
    found = []
    kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
             "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
    for entry in params.get("TransactItems") or []:
        for kind, body in entry.items():
            found.append(Check(f"dynamodb:{kinds.get(kind, kind)}",
                               scope.arn("dynamodb", f"table/{body.get('TableName', '')}")))
    return found


def _batch_items(entries: Any) -> list[dict[str, Any]]:
    if isinstance(entries, dict):  # BatchGetItem: {"Keys": [...]}
        return list(entries.get("Keys") or [])
    return [e.get("PutRequest", {}).get("Item") or e.get("DeleteRequest", {}).get("Key") or {}
            for e in entries or []]


def _leading_keys(scope: Scope, table: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """``dynamodb:LeadingKeys``: the partition key values the request touches."""
    from moto.dynamodb.models import dynamodb_backends

    name = table.rsplit("/", 1)[-1]
    found = dynamodb_backends[scope.account][scope.region].tables.get(name)
    if found is None or not found.hash_key_attr:
        return {}
    values = [next(iter(item[found.hash_key_attr].values()))
              for item in items if found.hash_key_attr in item]
    return {"dynamodb:leadingkeys": [str(v) for v in values]} if values else {}


def _dynamodb_streams(request: AwsRequest, scope: Scope) -> list[Any]:
    params = request.params
    if "StreamArn" in params:
        return [params["StreamArn"]]
    iterator = str(params.get("ShardIterator", ""))
    if "|" in iterator:  # moto's iterator: <stream arn>|1|<id>
        return [iterator.split("|", 1)[0]]
    return ["*"]


def _kinesis(request: AwsRequest, scope: Scope) -> list[Any]:
    params = request.params
    if "ConsumerARN" in params:
        return [params["ConsumerARN"]]
    if "StreamARN" in params:
        return [params["StreamARN"]]
    if "StreamName" in params:
        return [scope.arn("kinesis", f"stream/{params['StreamName']}")]
    if "ShardIterator" in params:  # moto's iterator: base64 of <stream name>:<shard>:<seq>
        try:
            name = base64.b64decode(params["ShardIterator"]).decode().split(":", 1)[0]
        except ValueError:
            return ["*"]
        return [scope.arn("kinesis", f"stream/{name}")]
    return ["*"]


def _sqs(request: AwsRequest, scope: Scope) -> list[Any]:
    params = request.params
    if "QueueUrl" in params:
        parts = str(params["QueueUrl"]).rstrip("/").split("/")
        return [f"arn:aws:sqs:{scope.region}:{parts[-2]}:{parts[-1]}"]
    if request.operation in ("GetQueueUrl", "CreateQueue") and "QueueName" in params:
        owner = params.get("QueueOwnerAWSAccountId") or scope.account
        return [f"arn:aws:sqs:{scope.region}:{owner}:{params['QueueName']}"]
    return ["*"]


def _sns(request: AwsRequest, scope: Scope) -> list[Any]:
    params = request.params
    for key in ("TopicArn", "TargetArn", "ResourceArn"):
        if key in params:
            return [params[key]]
    if request.operation == "CreateTopic" and "Name" in params:
        return [scope.arn("sns", params["Name"])]
    return ["*"]


def _lambda(request: AwsRequest, scope: Scope) -> list[Any]:
    params = request.params
    if "UUID" in params:
        return [scope.arn("lambda", f"event-source-mapping:{params['UUID']}")]
    name = params.get("FunctionName")
    if not name or request.operation == "CreateEventSourceMapping":
        return ["*"]
    arn = _function_arn(str(name), scope)
    qualifier = params.get("Qualifier")
    return [f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn]


def _function_arn(name: str, scope: Scope) -> str:
    if name.startswith("arn:"):
        return name
    parts = name.split(":")
    if len(parts) >= 3:  # <account>:function:<name>[:qualifier]
        return f"arn:aws:lambda:{scope.region}:{name}"
    if len(parts) == 2:  # <name>:<qualifier>
        return scope.arn("lambda", f"function:{parts[0]}:{parts[1]}")
    return scope.arn("lambda", f"function:{name}")


def _kms(request: AwsRequest, scope: Scope) -> list[Any]:
    from shardline.local.kms_keys import key_arn

    key = request.params.get("KeyId") or request.params.get("TargetKeyId")
    if not key:
        return ["*"]
    return [key_arn(str(key), scope.account, scope.region) or "*"]


def _logs(request: AwsRequest, scope: Scope) -> list[Any]:
    params = request.params
    group = params.get("logGroupName")
    if not group:
        return ["*"]
    stream = params.get("logStreamName")
    if stream and request.operation in ("PutLogEvents", "CreateLogStream", "GetLogEvents"):
        return [scope.arn("logs", f"log-group:{group}:log-stream:{stream}")]
    return [scope.arn("logs", f"log-group:{group}:*")]


def _events(request: AwsRequest, scope: Scope) -> list[Any]:
    params = request.params
    bus = params.get("EventBusName") or "default"
    rule = params.get("Name") or params.get("Rule")
    if request.operation == "PutEvents":
        buses = {e.get("EventBusName") or "default" for e in params.get("Entries") or []}
        return [b if b.startswith("arn:") else scope.arn("events", f"event-bus/{b}")
                for b in sorted(buses or {"default"})]
    if (rule and "Rule" in request.operation) or (rule and request.operation.endswith("Targets")):
        path = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
        return [scope.arn("events", path)]
    return ["*"]


def _iam(request: AwsRequest, scope: Scope) -> list[Any]:
    params = request.params
    if "RoleName" in params:
        return [f"arn:aws:iam::{scope.account}:role/{params['RoleName']}"]
    if "UserName" in params:
        return [f"arn:aws:iam::{scope.account}:user/{params['UserName']}"]
    if "PolicyArn" in params:
        return [params["PolicyArn"]]
    return ["*"]


def _sts(request: AwsRequest, scope: Scope) -> list[Any]:
    return [request.params.get("RoleArn", "*")]


def _s3(request: AwsRequest, scope: Scope) -> list[Any]:
    bucket, key = request.params.get("Bucket"), request.params.get("Key")
    if not bucket:
        return ["*"]
    if request.operation in ("ListObjectsV2", "ListObjects"):
        # s3:ListBucket's condition keys, from the query string (its wire names); a key
        # the request does not set is absent, so a condition on it does not hold.
        context = {f"s3:{name}": str(request.params[name])
                   for name in ("prefix", "delimiter", "max-keys")
                   if request.params.get(name) is not None}
        return [Check("s3:ListBucket", f"arn:aws:s3:::{bucket}", context)]
    return [f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"]


_RESOLVERS: dict[str, Callable[[AwsRequest, Scope], list[Any]]] = {
    "dynamodb": _dynamodb, "dynamodbstreams": _dynamodb_streams, "kinesis": _kinesis,
    "sqs": _sqs, "sns": _sns, "lambda": _lambda, "kms": _kms, "logs": _logs,
    "events": _events, "iam": _iam, "sts": _sts, "s3": _s3,
}

__all__ = ["Check", "Scope", "checks"]
