"""Reading a Lambda function's settings from its environment, the same way everywhere.

Each function's ``config.py`` builds one typed, frozen object from these readers; a
missing or invalid setting raises ``ConfigError`` with a one-line message naming it, so a
misconfigured function fails fast and says why.
"""

from __future__ import annotations

from collections.abc import Mapping


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


__all__ = ["ConfigError", "optional", "required", "whole_number"]
