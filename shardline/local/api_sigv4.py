"""Signature Version 4 of a request to the local API Gateway, checked as AWS checks it:
the signature is recomputed (with botocore's signer) from the request and the signer's
secret key, which the embedded STS or IAM issued, and compared with the one sent.

What AWS answers (HTTP APIs, IAM-authorized routes) and this module reproduces, each a
403 with a JSON message: no ``Authorization`` header → ``Forbidden``; a key nobody issued
→ "The security token included in the request is invalid."; a different signature →
"The request signature we calculated does not match ..."; a request dated more than 5
minutes from now → "Signature expired: ...". The credential scope must name the service
``execute-api`` and the API's region.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from shardline.local.api_events import ApiRequest

SERVICE = "execute-api"
MAX_SKEW_S = 300
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,"
    r"\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$")
MISMATCH = ("The request signature we calculated does not match the signature you "
            "provided. Check your AWS Secret Access Key and signing method. Consult the "
            "service documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."

# access key → (secret key, session token or None); None when no such key was issued.
SecretLookup = Callable[[str], "tuple[str, str | None] | None"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a request's signature: the access key, or why not."""

    access_key: str | None
    refusal: str | None = None


def verify(request: ApiRequest, secrets: SecretLookup, *, region: str,
           now_s: float) -> Verdict:
    """Check ``request``'s SigV4 ``Authorization`` header for ``execute-api`` in
    ``region``; a Verdict with the signer's access key, or the refusal message."""
    header = request.header("authorization")
    if not header:
        return Verdict(None, "Forbidden")
    match = _AUTHORIZATION.match(header.strip())
    if match is None:
        return Verdict(None, "Authorization header requires 'Credential', "
                             "'SignedHeaders' and 'Signature' parameters.")
    access_key, date, scope_region, service, signed_headers, signature = match.groups()
    if service != SERVICE or scope_region != region:
        return Verdict(None, f"Credential should be scoped to a valid region and service "
                             f"{SERVICE} in {region}, not {scope_region}/{service}.")
    stamp = request.header("x-amz-date") or ""
    refused = _check_time(stamp, date, now_s)
    if refused:
        return Verdict(None, refused)
    secret = secrets(access_key)
    if secret is None:
        return Verdict(None, INVALID_TOKEN)
    secret_key, token = secret
    if token is not None and request.header("x-amz-security-token") != token:
        return Verdict(None, INVALID_TOKEN)
    expected = _signature(request, signed_headers.split(";"), stamp,
                          Credentials(access_key, secret_key, token), region)
    if not hmac.compare_digest(expected, signature):
        return Verdict(None, MISMATCH)
    return Verdict(access_key)


def _check_time(stamp: str, scope_date: str, now_s: float) -> str | None:
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "Missing or malformed X-Amz-Date header (YYYYMMDDTHHMMSSZ)."
    if stamp[:8] != scope_date:
        return "Credential date does not match the X-Amz-Date header."
    if abs(signed_at.timestamp() - now_s) > MAX_SKEW_S:
        now = datetime.fromtimestamp(now_s, UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"Signature expired: {stamp} is now earlier than {now} (5 minutes at most)."
    return None


def _signature(request: ApiRequest, signed_headers: list[str], stamp: str,
               credentials: Credentials, region: str) -> str:
    """The signature the signer should have sent, over the headers it says it signed."""
    wanted = set(signed_headers)
    headers = {name: value for name, value in
               ((name.lower(), request.header(name) or "") for name, _ in request.headers)
               if name in wanted}
    signable = AWSRequest(method=request.method,
                          url=f"http://{headers.get('host', 'localhost')}{request.path}",
                          headers=headers, data=request.body)
    # Canonical query: each name and value decoded, then encoded as SigV4 says (clients
    # differ in how they escape the query string they send).
    signable.params = parse_qsl(request.query, keep_blank_values=True)
    signable.context["timestamp"] = stamp
    signer = _Signer(credentials, region, headers)
    canonical = signer.canonical_request(signable)
    return signer.signature(signer.string_to_sign(signable, canonical), signable)


class _Signer(SigV4Auth):
    """botocore's signer over exactly the headers the client signed (botocore's own
    choice leaves some out, e.g. user-agent, which other clients may sign)."""

    def __init__(self, credentials: Credentials, region: str, headers: dict[str, str]):
        super().__init__(credentials, SERVICE, region)
        self._headers = headers

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        signed = HTTPHeaders()
        for name, value in self._headers.items():
            signed[name] = value
        return signed


__all__ = ["INVALID_TOKEN", "MISMATCH", "SERVICE", "SecretLookup", "Verdict", "verify"]
