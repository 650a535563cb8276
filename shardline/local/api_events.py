"""API Gateway HTTP API ↔ Lambda, payload format 2.0: the event an integration receives
for a request, and the HTTP response a function's result becomes (both as AWS documents
them for Lambda proxy integrations of HTTP APIs).

Event: ``version`` "2.0", ``routeKey``, ``rawPath``, ``rawQueryString`` (as sent),
``cookies`` (the Cookie header split; absent without one), ``headers`` (names
lower-cased, repeated headers joined with commas), ``queryStringParameters`` (decoded,
repeated names joined with commas; absent without a query string), ``requestContext``
(``accountId``, ``apiId``, ``authorizer.iam`` for IAM-authorized routes, ``domainName``,
``domainPrefix``, ``http`` {method, path, protocol, sourceIp, userAgent}, ``requestId``,
``routeKey``, ``stage``, ``time`` "dd/Mon/yyyy:HH:MM:SS +0000", ``timeEpoch`` ms),
``body`` (absent when empty; base64 unless text) and ``isBase64Encoded``.

Response: a JSON object with ``statusCode`` gives the status, ``headers``, ``cookies``
(each a ``set-cookie``), ``body`` (decoded when ``isBase64Encoded``); any other valid
JSON is the body of a 200 ``application/json`` response, as is.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request as the gateway received it."""

    method: str
    path: str  # raw path, without the query string
    query: str = ""  # raw query string, without "?"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """A header's value (repeated ones joined with commas), by case-insensitive name."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def message(cls, status: int, message: str) -> ApiResponse:
        """API Gateway's own answers: ``{"message": ...}`` as JSON."""
        return cls(status, (("content-type", "application/json"),),
                   json.dumps({"message": message}).encode())


@dataclass(frozen=True)
class IamCaller:
    """The SigV4 signer of a request to an IAM-authorized route (``authorizer.iam``)."""

    access_key: str
    account_id: str
    user_arn: str
    user_id: str
    caller_id: str = field(default="")


@dataclass(frozen=True)
class EventContext:
    """What API Gateway knows about a request beyond the request itself."""

    api_id: str
    account_id: str
    route_key: str
    request_id: str
    time_s: float
    stage: str = "$default"
    domain_name: str = ""
    caller: IamCaller | None = None


def http_event(request: ApiRequest, context: EventContext) -> dict[str, Any]:
    """The payload format 2.0 event of ``request``."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    event: dict[str, Any] = {"version": "2.0", "routeKey": context.route_key,
                             "rawPath": request.path, "rawQueryString": request.query}
    cookie = headers.pop("cookie", None)
    if cookie:
        event["cookies"] = [part.strip() for part in cookie.replace(";", ",").split(",")
                            if part.strip()]
    event["headers"] = headers
    if request.query:
        event["queryStringParameters"] = _query_parameters(request.query)
    event["requestContext"] = _request_context(request, context, headers)
    if request.body:
        text = _is_text(headers.get("content-type", ""))
        event["body"] = (request.body.decode("utf-8", "replace") if text
                         else base64.b64encode(request.body).decode())
        event["isBase64Encoded"] = not text
    else:
        event["isBase64Encoded"] = False
    return event


def _query_parameters(query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def _request_context(request: ApiRequest, context: EventContext,
                     headers: dict[str, str]) -> dict[str, Any]:
    moment = datetime.fromtimestamp(context.time_s, UTC)
    domain = context.domain_name or headers.get("host", "")
    request_context: dict[str, Any] = {
        "accountId": context.account_id,
        "apiId": context.api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {"method": request.method, "path": request.path,
                 "protocol": request.protocol, "sourceIp": request.source_ip,
                 "userAgent": headers.get("user-agent", "")},
        "requestId": context.request_id,
        "routeKey": context.route_key,
        "stage": context.stage,
        "time": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(context.time_s * 1000),
    }
    if context.caller is not None:
        caller = context.caller
        request_context["authorizer"] = {"iam": {
            "accessKey": caller.access_key, "accountId": caller.account_id,
            "callerId": caller.caller_id or caller.user_id, "cognitoIdentity": None,
            "principalOrgId": None, "userArn": caller.user_arn, "userId": caller.user_id}}
    return request_context


def _is_text(content_type: str) -> bool:
    return not content_type or content_type.lower().startswith(TEXT_TYPES)


def lambda_response(payload: bytes) -> ApiResponse:
    """The HTTP response of a function's result (format 2.0); a result that is not JSON
    is an integration failure (500), as on AWS."""
    try:
        result = json.loads(payload) if payload else None
    except json.JSONDecodeError:
        return ApiResponse.message(500, "Internal Server Error")
    if not isinstance(result, dict) or "statusCode" not in result:
        return ApiResponse(200, (("content-type", "application/json"),),
                           json.dumps(result).encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return ApiResponse.message(500, "Internal Server Error")
    headers = [(str(name).lower(), str(value))
               for name, value in (result.get("headers") or {}).items()]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or ()]
    body = result.get("body")
    if body is None:
        raw = b""
    elif result.get("isBase64Encoded"):
        raw = base64.b64decode(str(body))
    else:
        raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    return ApiResponse(status, tuple(headers), raw)


__all__ = ["ApiRequest", "ApiResponse", "EventContext", "IamCaller", "http_event",
           "lambda_response"]
