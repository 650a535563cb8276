"""What conformance handlers saw. Handlers run in-process, so they append here."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

calls: dict[str, list[dict[str, Any]]] = defaultdict(list)


def record(function: str, event: dict[str, Any]) -> None:
    calls[function].append(event)


def reset() -> None:
    calls.clear()
