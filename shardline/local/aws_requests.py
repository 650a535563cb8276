"""What an AWS API request asks for: service, operation, parameters and the signing key.

Read from the request as each protocol carries it, before moto sees it:

* JSON protocols (DynamoDB, DynamoDB Streams, Kinesis, SQS, KMS, CloudWatch Logs,
  EventBridge): the operation from ``X-Amz-Target``, parameters from the JSON body;
* query protocols (IAM, STS, SNS): ``Action=`` and the parameters from the form body or
  the query string;
* REST protocols (Lambda, S3): the method and path matched against botocore's service
  model (``requestUri`` templates, their labels and required query keys); parameters
  the model binds to headers are read from the headers.

The service is the signing name in the SigV4 credential scope (``Authorization`` header or
the ``X-Amz-Credential`` query parameter of a presigned URL).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_QUERY_SERVICES = frozenset({"iam", "sts", "sns"})
_REST_SERVICES = {"lambda": "lambda", "s3": "s3"}


@dataclass
class AwsRequest:
    service: str  # the model's name: dynamodb, dynamodbstreams, kinesis, sqs, lambda, …
    operation: str  # the API operation, e.g. Query, SendMessage, Invoke
    params: dict[str, Any] = field(default_factory=dict)
    access_key_id: str = ""
    region: str = "us-east-1"
    protocol: str = "json"  # json, query, rest-json, rest-xml


def signature(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(access key id, region, signing service) of a signed request, else None."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL.search(header)
    if match is None:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        credential = (query.get("X-Amz-Credential") or [""])[0]
        parts = credential.split("/")
        if len(parts) != 5:
            return None
        return parts[0], parts[2], parts[3]
    return match.group(1), match.group(2), match.group(3)


def parse(environ: dict[str, Any], body: bytes, signed: tuple[str, str, str]) -> AwsRequest | None:
    """The request's operation and parameters, or None when it is not an AWS API call."""
    access_key_id, region, signing_name = signed
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.rpartition(".")
        service = _json_service(signing_name, prefix)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return AwsRequest(service, operation, params if isinstance(params, dict) else {},
                          access_key_id, region, "json")
    if signing_name in _QUERY_SERVICES:
        params = _query_params(environ, body)
        operation = params.pop("Action", "")
        return AwsRequest(signing_name, operation, params, access_key_id, region, "query")
    if signing_name in _REST_SERVICES:
        header_names = frozenset(k[5:].replace("_", "-").lower()
                                 for k in environ if k.startswith("HTTP_"))
        matched = match_rest(_REST_SERVICES[signing_name], environ["REQUEST_METHOD"],
                             _raw_path(environ), environ.get("QUERY_STRING", ""), header_names)
        if matched is None:
            return None
        operation, params = matched
        params.update(_header_params(_REST_SERVICES[signing_name], operation, environ))
        protocol = "rest-xml" if signing_name == "s3" else "rest-json"
        if protocol == "rest-json" and body[:1] == b"{":
            with contextlib.suppress(ValueError):
                params = {**json.loads(body), **params}
        return AwsRequest(signing_name, operation, params, access_key_id, region, protocol)
    return None


def _json_service(signing_name: str, target_prefix: str) -> str:
    if target_prefix.startswith("DynamoDBStreams"):
        return "dynamodbstreams"
    return signing_name


def _query_params(environ: dict[str, Any], body: bytes) -> dict[str, str]:
    params = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if body and "json" not in environ.get("CONTENT_TYPE", ""):
        params.update({k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
    return params


def _raw_path(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw).split("?", 1)[0]
    return str(environ.get("PATH_INFO", "/"))


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    query: tuple[tuple[str, str | None], ...]  # required query keys (and values)
    headers: tuple[str, ...]  # required header members (CopyObject: x-amz-copy-source)
    weight: int  # literal characters + query requirements: the most specific route wins


@lru_cache(maxsize=4)
def _routes(service: str) -> tuple[_Route, ...]:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"]
        path, _, query = uri.partition("?")
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        if path.endswith("/") and path != "/":
            regex += "?"
        required = tuple((k, v[0] if v and v[0] else None)
                         for k, v in parse_qs(query, keep_blank_values=True).items())
        headers = _required_headers(model.operation_model(name))
        weight = len(re.sub(r"\{[^}]+\}", "", path)) + 10 * (len(required) + len(headers))
        routes.append(_Route(name, http["method"], re.compile(f"^{regex}$"), required, headers,
                             weight))
    return tuple(sorted(routes, key=lambda r: -r.weight))


def _required_headers(operation: Any) -> tuple[str, ...]:
    shape = operation.input_shape
    if shape is None:
        return ()
    return tuple(str(member.serialization["name"]).lower()
                 for name, member in shape.members.items()
                 if name in shape.required_members
                 and member.serialization.get("location") == "header")


@lru_cache(maxsize=256)
def _header_members(service: str, operation: str) -> tuple[tuple[str, str], ...]:
    """(parameter name, WSGI environ key) of the operation's header-bound members."""
    import botocore.session

    shape = botocore.session.get_session().get_service_model(service) \
        .operation_model(operation).input_shape
    if shape is None:
        return ()
    return tuple((name, "HTTP_" + str(member.serialization["name"]).upper().replace("-", "_"))
                 for name, member in shape.members.items()
                 if member.serialization.get("location") == "header"
                 and "name" in member.serialization)


def _header_params(service: str, operation: str, environ: dict[str, Any]) -> dict[str, str]:
    """The request's header-bound parameters by model name (S3's ServerSideEncryption and
    SSEKMSKeyId decide which KMS key a PutObject uses)."""
    return {name: str(environ[key]) for name, key in _header_members(service, operation)
            if key in environ}


def match_rest(service: str, method: str, path: str, query_string: str,
               headers: frozenset[str] = frozenset()) -> tuple[str, dict[str, Any]] | None:
    """The REST operation a method + path + query string (+ header names) calls, with its
    path labels."""
    query = parse_qs(query_string, keep_blank_values=True)
    for route in _routes(service):
        if route.method != method or not all(h in headers for h in route.headers):
            continue
        found = route.pattern.match(path)
        if found is None:
            continue
        if not all(key in query and (value is None or value in query[key])
                   for key, value in route.query):
            continue
        labels = {k: unquote(v) for k, v in found.groupdict().items()}
        labels.update({k: v[0] for k, v in query.items() if k not in labels})
        return route.operation, labels
    return None


__all__ = ["AwsRequest", "match_rest", "parse", "signature"]
