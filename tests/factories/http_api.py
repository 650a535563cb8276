"""API Gateway HTTP API events (payload format 2.0), shaped as AWS documents them for
Lambda proxy integrations: what the query Lambda receives, built independently of the
local runtime's event builder (the conformance tests compare the two)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

ACCOUNT_ID = "123456789012"
API_ID = "a1b2c3d4e5"


def http_api_event(path: str = "/query", *, method: str = "GET",
                   query: Mapping[str, str | Sequence[str]] | None = None,
                   headers: Mapping[str, str] | None = None,
                   user_arn: str | None = None, time_epoch_ms: int = 1_767_225_600_000,
                   ) -> dict[str, Any]:
    """The event of ``method path?query``: repeated parameters are comma-joined in
    ``queryStringParameters`` and kept in ``rawQueryString``; header names lower-case;
    ``authorizer.iam`` present when ``user_arn`` signed it (an IAM-authorized route)."""
    pairs = [(name, value) for name, values in (query or {}).items()
             for value in ([values] if isinstance(values, str) else values)]
    domain = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
    all_headers = {"host": domain, "user-agent": "curl/8.5.0",
                   **{name.lower(): value for name, value in (headers or {}).items()}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(pairs),
        "headers": all_headers,
        "requestContext": {
            "accountId": ACCOUNT_ID, "apiId": API_ID, "domainName": domain,
            "domainPrefix": API_ID,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": all_headers["user-agent"]},
            "requestId": str(uuid.uuid4()), "routeKey": f"{method} {path}",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": time_epoch_ms,
        },
        "isBase64Encoded": False,
    }
    if pairs:
        joined: dict[str, str] = {}
        for name, value in pairs:
            joined[name] = f"{joined[name]},{value}" if name in joined else value
        event["queryStringParameters"] = joined
    if user_arn is not None:
        event["requestContext"]["authorizer"] = {"iam": {
            "accessKey": "AKIAEXAMPLE", "accountId": ACCOUNT_ID, "callerId": "AIDAEXAMPLE",
            "cognitoIdentity": None, "principalOrgId": None, "userArn": user_arn,
            "userId": "AIDAEXAMPLE"}}
    return event


__all__ = ["ACCOUNT_ID", "API_ID", "http_api_event"]
