"""DynamoDB item sizes and write units, as DynamoDB counts them (for the write meter).

An item's size is the sum of its attribute names' and values' sizes: a string's UTF-8
bytes, a binary's bytes, about one byte per two significant digits of a number plus one,
one byte for a boolean or null, and three bytes plus their elements (one more byte each)
for a list or map. A standard write costs one write unit per started KB of the item.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

KB = 1024


def _number_size(text: str) -> int:
    digits = text.lstrip("-").split("E")[0].split("e")[0].replace(".", "").strip("0")
    return (max(len(digits), 1) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Size of one typed value in the low-level (wire) form, e.g. ``{"S": "abc"}``."""
    (kind, content), = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return _number_size(str(content))
    if kind == "B":
        return len(base64.b64decode(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(v) + 1 for name, v in content.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in content)
    if kind == "SS":
        return sum(len(s.encode()) for s in content)
    if kind == "NS":
        return sum(_number_size(n) for n in content)
    return sum(len(base64.b64decode(b)) for b in content)  # BS


def item_size(item: Mapping[str, Any]) -> int:
    """Size in bytes of an item in the low-level form."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(item: Mapping[str, Any]) -> int:
    """Write units of a standard put of ``item`` (at least one)."""
    return max(1, math.ceil(item_size(item) / KB))


__all__ = ["item_size", "value_size", "write_units"]
