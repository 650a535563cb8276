"""Which version of a function an invocation runs: Lambda's qualifiers.

A function is invoked by an unqualified name or ARN (``$LATEST``), by a qualified one
naming a published version (``:3``) or ``:$LATEST``, or by one naming an alias
(``:live``). The rules, from the Lambda developer guide ("Manage Lambda function
versions", "Lambda function aliases", "Implement Lambda canary deployments using a
weighted alias"):

* ``$LATEST`` is the unpublished, mutable version; a published version is an immutable
  snapshot of the code and most of the configuration taken when it was published.
* An alias points to one version; an invocation through it runs that version, and
  updating the alias changes what the *next* invocation runs, with no change to the
  callers or the event source mappings that name the alias.
* A weighted alias (``RoutingConfig.AdditionalVersionWeights``) points to at most two
  published versions; each invocation goes to the additional version with its weight
  and to the primary otherwise ("a simple probabilistic model"). The docs list no
  invocation type or event source that is exempt, so every invocation through the alias
  is routed here, a mapping's batches included.

``resolve`` turns what was invoked into the qualified ARN of the version to run; the
alias is read through the Lambda API at every invocation, so an alias update applies to
the next one.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

LATEST = "$LATEST"


def split_qualifier(function: str) -> tuple[str, str | None]:
    """``(unqualified name or ARN, qualifier or None)`` of a function name or ARN."""
    if function.startswith("arn:"):
        parts = function.split(":")
        if len(parts) == 8:
            return ":".join(parts[:7]), parts[7]
        return function, None
    name, _, qualifier = function.partition(":")
    return (name, qualifier) if qualifier else (function, None)


def as_invoked(resolved_arn: str, requested: str, qualifier: str | None = None) -> str:
    """The ARN of what a caller named: moto resolves an alias to the version it points
    to (``resolved_arn``), AWS keeps the alias (in a mapping's FunctionArn, and for an
    invocation's routing). ``qualifier`` (the API's Qualifier parameter) wins."""
    named = qualifier or split_qualifier(requested)[1]
    unqualified = split_qualifier(resolved_arn)[0]
    return f"{unqualified}:{named}" if named else unqualified


def is_version(qualifier: str) -> bool:
    """A published version number or ``$LATEST`` (anything else names an alias)."""
    return qualifier == LATEST or qualifier.isdigit()


@dataclass
class VersionRouter:
    """Resolves aliases to versions, weighted routing included; thread-safe.

    ``seed`` makes the weighted choice reproducible (Lambda's own is random)."""

    lambda_client: Any
    seed: int | None = None
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def resolve(self, function: str) -> str:
        """The name or ARN, qualified by a version (or unqualified for ``$LATEST``), of
        what an invocation of ``function`` runs."""
        base, qualifier = split_qualifier(function)
        if qualifier is None or qualifier == LATEST:
            return base
        if is_version(qualifier):
            return function
        alias = self.lambda_client.get_alias(FunctionName=base, Name=qualifier)
        version = self._choose(alias)
        return base if version == LATEST else f"{base}:{version}"

    def _choose(self, alias: dict[str, Any]) -> str:
        primary = str(alias["FunctionVersion"])
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if not weights:
            return primary
        with self._lock:
            draw = self._random.random()
        threshold = 0.0
        for version, weight in sorted(weights.items()):
            threshold += float(weight)
            if draw < threshold:
                return str(version)
        return primary


__all__ = ["LATEST", "VersionRouter", "as_invoked", "is_version", "split_qualifier"]
