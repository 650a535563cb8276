"""HTTP requests to an API Gateway HTTP API (the local one), signed with SigV4 for
``execute-api`` as AWS SDKs sign them (botocore's signer), sent over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(base_url: str, path: str, *, method: str = "GET",
         headers: dict[str, str] | None = None, signer: Credentials | None = None,
         region: str = REGION) -> Reply:
    """One request; signed for execute-api in ``region`` when ``signer`` is given."""
    url = base_url + path
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    if signer is not None:
        SigV4Auth(signer, "execute-api", region).add_auth(request)
    prepared = urllib.request.Request(url, method=method, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()},
                         response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()},
                     error.read())



__all__ = ["REGION", "Reply", "send"]
