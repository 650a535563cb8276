"""IAM policy documents compiled once and evaluated per request, as AWS's evaluation logic does.

A policy is compiled into statements with precompiled patterns, so evaluating a request
costs a few regex matches. The rules implemented (AWS's policy evaluation logic for one
account, identity-based and key policies):

* an explicit ``Deny`` that matches wins over any ``Allow``; no matching ``Allow`` is an
  implicit deny;
* ``Action``/``NotAction`` match case-insensitively, ``Resource``/``NotResource``
  case-sensitively, both with ``*`` and ``?`` wildcards;
* ``Condition``: every operator of a statement must hold, every key of an operator must
  hold, and any of a key's values may match. Supported operators: the String*, Arn*,
  Numeric*, Bool and Null families, their ``IfExists`` forms and the ``ForAllValues:`` /
  ``ForAnyValue:`` set qualifiers. A missing key makes a condition false (true for
  ``IfExists``, the negated operators and ``ForAllValues``), as AWS does. An operator this
  module does not know makes the condition false, so enforcement errs on denying.
* ``Principal``/``NotPrincipal`` (resource and key policies): ``*``, account ids, account
  roots and role/user ARNs; an assumed-role session matches its role's ARN.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | Sequence[str]
Context = Mapping[str, ContextValue]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """An IAM wildcard pattern (``*`` any run, ``?`` one character) as an anchored regex."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(frozen=True)
class Principal:
    """Who makes the request, as a policy's ``Principal`` element sees it."""

    arn: str  # arn:aws:sts::<acct>:assumed-role/<role>/<session>, …:user/<name>, …:root
    account: str
    role_arn: str | None = None  # the role an assumed-role session belongs to

    @classmethod
    def service(cls, name: str) -> Principal:
        """An AWS service acting on its own behalf (``sns.amazonaws.com`` delivering)."""
        return cls(arn=name, account="")

    def names(self) -> tuple[str, ...]:
        """Every value a key/resource policy's ``AWS`` (or, for a service, ``Service``)
        principal may use to name it."""
        if not self.account:  # a service principal is named only by its service name
            return (self.arn,)
        # The account root names every principal of the account (key policies: delegation).
        found = [self.arn, self.account, f"arn:aws:iam::{self.account}:root"]
        if self.role_arn:
            found.append(self.role_arn)
        return tuple(found)


class Condition:
    """One operator of a ``Condition`` block with its keys and values."""

    def __init__(self, operator: str, keys: Mapping[str, Any]) -> None:
        qualifier, _, name = operator.rpartition(":")
        self.qualifier = qualifier  # "", "ForAllValues" or "ForAnyValue"
        self.if_exists = name.endswith("IfExists")
        self.name = name[: -len("IfExists")] if self.if_exists else name
        self.keys = {key.lower(): [str(v) for v in _as_list(values)]
                     for key, values in keys.items()}
        self.test = _OPERATORS.get(self.name)

    def holds(self, context: Context) -> bool:
        if self.test is None:
            return False
        return all(self._key_holds(key, values, context) for key, values in self.keys.items())

    def _key_holds(self, key: str, expected: list[str], context: Context) -> bool:
        actual = context.get(key)
        if self.name == "Null":
            return (actual is None) == (expected[0].lower() == "true")
        if actual is None:
            return (self.if_exists or self.name.startswith(("StringNot", "ArnNot"))
                    or self.qualifier == "ForAllValues")
        given = [actual] if isinstance(actual, str) else list(actual)
        assert self.test is not None
        negated = "Not" in self.name
        if self.qualifier == "ForAllValues":
            return all(self._one(value, expected, negated) for value in given)
        if self.qualifier == "ForAnyValue" or not negated:
            return any(self._one(value, expected, negated) for value in given)
        return all(self._one(value, expected, negated) for value in given)

    def _one(self, value: str, expected: list[str], negated: bool) -> bool:
        assert self.test is not None
        if negated:
            return not any(self.test(value, want) for want in expected)
        return any(self.test(value, want) for want in expected)


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def test(value: str, want: str) -> bool:
        try:
            return compare(float(value), float(want))
        except ValueError:
            return False
    return test


def _string_like(value: str, want: str) -> bool:
    return wildcard(want).match(value) is not None


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda v, w: v == w,
    "StringNotEquals": lambda v, w: v == w,
    "StringEqualsIgnoreCase": lambda v, w: v.lower() == w.lower(),
    "StringNotEqualsIgnoreCase": lambda v, w: v.lower() == w.lower(),
    "StringLike": _string_like,
    "StringNotLike": _string_like,
    "ArnEquals": _string_like,
    "ArnLike": _string_like,
    "ArnNotEquals": _string_like,
    "ArnNotLike": _string_like,
    "Bool": lambda v, w: v.lower() == w.lower(),
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericNotEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
    "Null": lambda v, w: True,
}


class Statement:
    """A compiled policy statement."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.sid = str(raw.get("Sid", ""))
        self.deny = raw.get("Effect") == "Deny"
        self.not_action = "NotAction" in raw
        self.actions = [wildcard(a, ignore_case=True)
                        for a in _as_list(raw.get("NotAction" if self.not_action else "Action"))]
        self.not_resource = "NotResource" in raw
        resources = _as_list(raw.get("NotResource" if self.not_resource else "Resource", "*"))
        self.resources = [wildcard(r) for r in resources]
        self.not_principal = "NotPrincipal" in raw
        self.principals = _principal_patterns(raw.get("NotPrincipal" if self.not_principal
                                                      else "Principal"))
        self.conditions = [Condition(op, keys)
                           for op, keys in (raw.get("Condition") or {}).items()]

    def applies(self, action: str, resource: str, context: Context,
                principal: Principal | None = None) -> bool:
        if any(p.match(action) for p in self.actions) == self.not_action:
            return False
        if any(p.match(resource) for p in self.resources) == self.not_resource:
            return False
        if principal is not None and self.principals is not None:
            named = self._names(principal)
            if named == self.not_principal:
                return False
        return all(condition.holds(context) for condition in self.conditions)

    def _names(self, principal: Principal) -> bool:
        assert self.principals is not None
        return any(pattern.match(name) for pattern in self.principals
                   for name in principal.names())

    def names_account_root(self, account: str) -> bool:
        """Whether the statement's principal is the account (delegation to IAM policies)."""
        if self.principals is None or self.not_principal:
            return False
        root = f"arn:aws:iam::{account}:root"
        return any(p.pattern in (f"^{re.escape(root)}$", f"^{account}$") for p in self.principals)


def _principal_patterns(raw: Any) -> list[re.Pattern[str]] | None:
    """``None`` when the statement has no principal (identity policies)."""
    if raw is None:
        return None
    if raw == "*":
        return [wildcard("*")]
    names = [str(name) for kind in ("AWS", "Service") if isinstance(raw, dict)
             for name in _as_list(raw.get(kind))]
    return [wildcard("*") if name == "*" else re.compile(f"^{re.escape(name)}$")
            for name in names]


class Policy:
    """A compiled policy document (identity-based, resource-based or a key policy)."""

    def __init__(self, document: Mapping[str, Any] | str) -> None:
        raw = json.loads(document) if isinstance(document, str) else document
        self.statements = [Statement(s) for s in _as_list(raw.get("Statement"))]

    def matching(self, action: str, resource: str, context: Context,
                 principal: Principal | None = None) -> Iterable[Statement]:
        return (s for s in self.statements if s.applies(action, resource, context, principal))


def evaluate(policies: Iterable[Policy], action: str, resource: str,
             context: Context) -> Decision:
    """The identity-based decision of a set of policies for one action on one resource."""
    allowed = False
    for policy in policies:
        for statement in policy.matching(action, resource, context):
            if statement.deny:
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


__all__ = ["Condition", "Context", "Decision", "Policy", "Principal", "Statement",
           "evaluate", "wildcard"]
