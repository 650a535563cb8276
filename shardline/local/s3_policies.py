"""Bucket policies in the embedded AWS, evaluated with their conditions.

moto checks a bucket's policy on every object request, but without the request's
context: a statement with a ``Condition`` never holds there, and a ``Deny`` with a
condition denies every request. The usual TLS-only statement (Deny ``s3:*`` when
``aws:SecureTransport`` is ``false``) would therefore refuse every object read and write,
although every request to the embedded endpoint stands for one made over TLS (as the
authorization layer's context says). Here the policy is compiled by ``iam_policy`` and
evaluated with that context. Statements for every principal (``"*"``) decide; those
naming specific principals are left to the authorization layer (moto cannot tell who
calls), as moto leaves principals it does not know.
"""

from __future__ import annotations

import threading
from typing import Any

from shardline.local.iam_policy import Policy, wildcard

# What is known of every request at this point: it stands for one made over TLS.
_CONTEXT = {"aws:securetransport": "true"}
_EVERYONE = wildcard("*").pattern

_lock = threading.Lock()
_installed = False


def bucket_permission(policy_text: str, action: str, resource: str) -> str:
    """``"DENIED"``, ``"PERMITTED"`` or ``"NEUTRAL"`` (moto's PermissionResult names)."""
    allowed = False
    for statement in Policy(policy_text).matching(action, resource, _CONTEXT):
        if statement.principals is None or not any(
                p.pattern == _EVERYONE for p in statement.principals):
            continue
        if statement.deny:
            return "DENIED"
        allowed = True
    return "PERMITTED" if allowed else "NEUTRAL"


def install() -> None:
    """Replace moto's ``FakeBucket.get_permission`` once per process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.iam.access_control import PermissionResult
        from moto.s3.models import FakeBucket

        def get_permission(self: Any, action: str, resource: str) -> Any:
            if self.policy is None:
                return PermissionResult.NEUTRAL
            text = self.policy.decode() if isinstance(self.policy, bytes) else str(self.policy)
            return PermissionResult[bucket_permission(text, action, resource)]

        FakeBucket.get_permission = get_permission
        _installed = True


__all__ = ["bucket_permission", "install"]
