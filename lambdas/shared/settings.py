"""Reading a Lambda function's settings from its environment, the same way everywhere.

Each function's ``config.py`` builds one typed, frozen object from these readers; a
missing or invalid setting raises ``ConfigError`` with a one-line message naming it, so a
misconfigured function fails fast and says why.
"""

from __future__ import annotations

from collections.abc import Mapping

from lambdas.shared.retention import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS


class ConfigError(RuntimeError):
    """The function's environment is missing or has an invalid setting."""


def required(environ: Mapping[str, str], name: str, meaning: str) -> str:
    """A setting that must be present; ``meaning`` completes "<name> is not set: ..."."""
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: {meaning}")
    return value


def optional(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name, "").strip() or None


def whole_number(environ: Mapping[str, str], name: str, default: int, *, low: int,
                 high: int | None = None) -> int:
    """An integer setting in ``[low, high]`` (no upper bound when ``high`` is None)."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{name} must be {bounds}, not {value}")
    return value


def retention_days(environ: Mapping[str, str], name: str) -> int | None:
    """Days an item is kept (DynamoDB TTL), within the bounds the Terraform variables
    enforce (``lambdas/shared/retention.py``); None (never expires) when unset."""
    if optional(environ, name) is None:
        return None
    return whole_number(environ, name, MIN_RETENTION_DAYS, low=MIN_RETENTION_DAYS,
                        high=MAX_RETENTION_DAYS)


__all__ = ["ConfigError", "optional", "required", "retention_days", "whole_number"]
