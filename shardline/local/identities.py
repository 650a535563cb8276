"""Who signed a request, and the compiled IAM policies that govern them.

The caller is found from the access key in the request's SigV4 credential scope:

* a key issued by the embedded STS (``AssumeRole``): the role session
  ``arn:aws:sts::<acct>:assumed-role/<role>/<session>``, governed by the role's inline and
  attached managed policies (AWS managed ones included);
* an IAM user's access key: the user, governed by the user's and its groups' policies;
* any other key (the dummy ``test`` key Terraform, the CLI and the runtime use): the
  account's administrator, allowed everything, as an administrator's keys are on AWS.

Policies are compiled once per identity and kept until IAM changes (``invalidate``, which
the authorization layer calls after every IAM write it serves).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from shardline.local.iam_policy import Policy, Principal


@dataclass(frozen=True)
class Identity:
    principal: Principal
    policies: tuple[Policy, ...]
    administrator: bool = False
    kind: str = "role"  # role, user, administrator

    @property
    def arn(self) -> str:
        return self.principal.arn


class IdentityCache:
    """Access key → ``Identity``, compiled once and kept until ``invalidate``."""

    def __init__(self, account: str, partition: str = "aws") -> None:
        self.account = account
        self.partition = partition
        self._identities: dict[str, Identity] = {}
        self._lock = threading.Lock()
        self.administrator = Identity(
            Principal(arn=f"arn:{partition}:iam::{account}:root", account=account),
            policies=(), administrator=True, kind="administrator")

    def invalidate(self) -> None:
        with self._lock:
            self._identities.clear()

    def identify(self, access_key_id: str) -> Identity:
        with self._lock:
            found = self._identities.get(access_key_id)
        if found is not None:
            return found
        found = self._resolve(access_key_id)
        with self._lock:
            self._identities[access_key_id] = found
        return found

    def _resolve(self, access_key_id: str) -> Identity:
        role = _assumed_role(self.account, access_key_id)
        if role is not None:
            role_arn, session_arn = role
            role_name = role_arn.rsplit("/", 1)[-1]
            return Identity(
                Principal(arn=session_arn, account=self.account, role_arn=role_arn),
                policies=tuple(Policy(doc) for doc in _role_documents(self.account, role_name)))
        user = _user_with_key(self.account, access_key_id)
        if user is not None:
            return Identity(
                Principal(arn=user.arn, account=self.account),
                policies=tuple(Policy(doc) for doc in _user_documents(self.account, user)),
                kind="user")
        return self.administrator


def _iam() -> Any:
    from moto.iam.models import iam_backends
    return iam_backends


def _assumed_role(account: str, access_key_id: str) -> tuple[str, str] | None:
    from moto.sts.models import sts_backends

    for backend in sts_backends[account].values():
        assumed = backend.get_assumed_role_from_access_key(access_key_id)
        if assumed is not None:
            return assumed.role_arn, assumed.arn
    return None


def _user_with_key(account: str, access_key_id: str) -> Any:
    for backend in _iam()[account].values():
        for user in backend.users.values():
            if any(key.access_key_id == access_key_id for key in user.access_keys):
                return user
    return None


def _document(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    text = str(raw)
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    return json.loads(text)


def _managed_documents(attached: Any) -> list[dict[str, Any]]:
    documents = []
    for policy in attached.values():
        version = next((v for v in policy.versions
                        if v.version_id == policy.default_version_id), None)
        if version is not None and version.document:
            documents.append(_document(version.document))
    return documents


def _role_documents(account: str, role_name: str) -> list[dict[str, Any]]:
    for backend in _iam()[account].values():
        role = next((r for r in backend.roles.values() if r.name == role_name), None)
        if role is None:
            continue
        documents = [_document(doc) for doc in role.policies.values()]
        documents += _managed_documents(role.managed_policies)
        return documents
    return []


def _user_documents(account: str, user: Any) -> list[dict[str, Any]]:
    documents = [_document(doc) for doc in user.policies.values()]
    documents += _managed_documents(user.managed_policies)
    for backend in _iam()[account].values():
        for group in backend.groups.values():
            if user in group.users:
                documents += [_document(doc) for doc in group.policies.values()]
                documents += _managed_documents(group.managed_policies)
    return documents


def issued_secret(account: str, access_key_id: str) -> tuple[str, str | None] | None:
    """(secret key, session token or None) of an access key the embedded STS (an assumed
    role's session) or IAM (a user's key) issued; None for any other key."""
    from moto.sts.models import sts_backends

    for backend in sts_backends[account].values():
        assumed = backend.get_assumed_role_from_access_key(access_key_id)
        if assumed is not None:
            return assumed.secret_access_key, assumed.session_token
    for backend in _iam()[account].values():
        for user in backend.users.values():
            for key in user.access_keys:
                if key.access_key_id == access_key_id:
                    return key.secret_access_key, None
    return None


__all__ = ["Identity", "IdentityCache", "issued_secret"]
