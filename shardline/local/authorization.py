"""IAM and KMS enforcement inside the embedded AWS: a WSGI layer in front of moto.

moto authorizes nothing faithfully (see the project's notes on moto), so every request is
authorized here, as AWS does, before moto serves it:

1. the caller is the signer of the request (``identities``): an assumed-role session of
   the embedded STS, an IAM user, or the administrator (the ``test`` key Terraform, the
   CLI and the runtime's control plane use), which is allowed everything;
2. the request becomes one or more (action, resource ARN) checks (``aws_requests`` and
   ``resource_arns``), evaluated against the caller's compiled identity policies
   (``iam_policy``): an explicit deny wins, no allow is an implicit deny;
3. a call on a resource encrypted with a customer managed key also needs the caller to be
   allowed to use the key through the service (``kms_keys``: key policy + IAM policy);
4. a denied call gets the service's own error (``access_errors``) and is logged and kept
   in ``denials`` for tests and ``shardline local status``;
5. SNS's own deliveries to subscribed queues, which moto makes in-process, are decided by
   the queue policy (and the queue key's policy) through ``sns_delivery``.

Enforcement is off until ``enable()`` (the stack enables it after ``terraform apply``).
Unsigned requests (moto's own ``/moto-api``) pass. Compiled policies are cached per access
key and dropped after every IAM write the layer serves.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shardline.local import aws_requests
from shardline.local.access_errors import (
    ErrorResponse,
    access_denied,
    denial_message,
    kms_access_denied,
)
from shardline.local.iam_policy import Decision, evaluate
from shardline.local.identities import Identity, IdentityCache
from shardline.local.kms_keys import KeyPolicies, needed_key_uses
from shardline.local.resource_arns import Check, checks
from shardline.local.sns_delivery import SNS, delivery_refusal

log = logging.getLogger("shardline.authorization")

StartResponse = Callable[..., Any]
_READ_ONLY_IAM = ("Get", "List", "Simulate", "Generate")


@dataclass(frozen=True)
class Denial:
    """One denied call, as CloudTrail would record it."""

    at: float
    caller: str
    action: str
    resource: str
    reason: str  # "implicit deny", "explicit deny" or "kms: …"
    operation: str

    def describe(self) -> str:
        return f"{self.caller} may not {self.action} on {self.resource} ({self.reason})"


class AuthorizationLayer:
    """WSGI middleware: authorize each request by its caller's IAM (and KMS) permissions."""

    def __init__(self, app: Callable[..., Iterable[bytes]], account: str) -> None:
        self.app = app
        self.account = account
        self.enabled = False
        self.identities = IdentityCache(account)
        self.key_policies = KeyPolicies()
        self._denials: deque[Denial] = deque(maxlen=10_000)
        self._repeats: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    # -- switch and observation -------------------------------------------------------
    def enable(self) -> None:
        self.identities.invalidate()
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False

    def reset(self) -> None:
        """Forget identities and denials (the backends were reset)."""
        self.identities.invalidate()
        with self._lock:
            self._denials.clear()
            self._repeats.clear()

    def denials(self) -> list[Denial]:
        with self._lock:
            return list(self._denials)

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        signed = aws_requests.signature(environ) if self.enabled else None
        if signed is None:
            return self.app(environ, start_response)
        identity = self.identities.identify(signed[0])
        if identity.administrator and signed[2] != "iam":
            return self.app(environ, start_response)
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        request = aws_requests.parse(environ, body, signed)
        if request is None:
            return self.app(environ, start_response)
        if request.service == "iam" and not request.operation.startswith(_READ_ONLY_IAM):
            return self._iam_write(identity, request, environ, start_response)
        denied = None if identity.administrator else self.authorize(identity, request)
        if denied is not None:
            start_response(denied.status, denied.headers)
            return [denied.body]
        return self.app(environ, start_response)

    def _iam_write(self, identity: Identity, request: aws_requests.AwsRequest,
                   environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        denied = None if identity.administrator else self.authorize(identity, request)
        if denied is not None:
            start_response(denied.status, denied.headers)
            return [denied.body]
        try:
            return list(self.app(environ, start_response))
        finally:
            self.identities.invalidate()

    def sns_delivery_refusal(self, topic_arn: str, queue_arn: str) -> str | None:
        """Why SNS may not deliver from the topic to the queue (None: it may, or
        enforcement is off); a refusal is recorded with SNS as the caller."""
        if not self.enabled:
            return None
        refused = delivery_refusal(topic_arn, queue_arn, self.key_policies)
        if refused is None:
            return None
        action, resource, reason = refused
        self._record(SNS.arn, "SendMessage", action, resource, reason)
        return f"{action} on {resource} ({reason})"

    # -- decisions ---------------------------------------------------------------------
    def authorize(self, identity: Identity,
                  request: aws_requests.AwsRequest) -> ErrorResponse | None:
        """None when the request is allowed, else the service's error response."""
        base = _context(identity, request.region)
        needed = checks(request, self.account)
        for check in needed:
            decision = evaluate(identity.policies, check.action, check.resource,
                                {**base, **check.context})
            if decision is not Decision.ALLOW:
                return self._deny_iam(identity, request, check, decision)
        if request.service == "kms":
            return self._authorize_key_api(identity, request, needed, base)
        resources = [check.resource for check in needed]
        for use in needed_key_uses(request.service, request.operation, resources,
                                   request.region, account=self.account,
                                   params=request.params):
            context = {**base, "kms:viaservice": use.via_service,
                       "kms:calleraccount": identity.principal.account}
            decision = self.key_policies.decide(identity, use.action, use.key_arn, context)
            if decision is not Decision.ALLOW:
                message = denial_message(identity.arn, use.action, use.key_arn,
                                         decision is Decision.EXPLICIT_DENY)
                self._record(identity.arn, request.operation, use.action, use.key_arn,
                             f"kms: {decision.value} for {use.resource_arn}")
                return kms_access_denied(request.service, request.protocol, message)
        return None

    def _authorize_key_api(self, identity: Identity, request: aws_requests.AwsRequest,
                           needed: list[Check], base: dict[str, Any]) -> ErrorResponse | None:
        """A KMS API call on a key also needs the key policy (IAM alone is not enough)."""
        context = {**base, "kms:calleraccount": identity.principal.account}
        for check in needed:
            if check.resource == "*":
                continue
            decision = self.key_policies.decide(identity, check.action, check.resource, context)
            if decision is not Decision.ALLOW:
                return self._deny_iam(identity, request, check, decision)
        return None

    def _deny_iam(self, identity: Identity, request: aws_requests.AwsRequest, check: Check,
                  decision: Decision) -> ErrorResponse:
        self._record(identity.arn, request.operation, check.action, check.resource,
                     decision.value)
        message = denial_message(identity.arn, check.action, check.resource,
                                 decision is Decision.EXPLICIT_DENY)
        return access_denied(request.service, request.protocol, message)

    def _record(self, caller: str, operation: str, action: str, resource: str,
                reason: str) -> None:
        denial = Denial(time.time(), caller, action, resource, reason, operation)
        key = (caller, action, resource)
        with self._lock:
            self._denials.append(denial)
            repeats = self._repeats.get(key, 0)
            self._repeats[key] = repeats + 1
        # A poller retries a denied call every second: say it once, then every 100th time.
        if repeats % 100 == 0:
            log.warning("access denied%s: %s", f" ({repeats + 1} times)" if repeats else "",
                        denial.describe())


def _context(identity: Identity, region: str) -> dict[str, Any]:
    """Global condition keys of a request (lower-cased, as condition keys compare)."""
    principal = identity.principal
    return {
        "aws:principalarn": principal.role_arn or principal.arn,
        "aws:principalaccount": principal.account,
        "aws:requestedregion": region,
        # Clients reach AWS over TLS; the embedded endpoint's plain HTTP stands in for it.
        "aws:securetransport": "true",
    }


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


__all__ = ["AuthorizationLayer", "Denial"]
