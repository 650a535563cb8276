"""DynamoDB attribute values serialized straight to JSON by the embedded AWS.

moto builds every JSON response by walking the service model: each attribute value of an
item (``{"S": ...}``, ``{"L": [...]}``, ...) goes through the generic serializer member by
member, the nested ones too. An alert state item holds a window of readings, a list of
lists, some 200 values: answering a GetItem for it took milliseconds of the one server
thread that holds the GIL, and a fleet's workers asking at once queued behind it.

An attribute value is already in wire form when moto serializes it (``dynamo_to_dict``:
type name to value, binary as bytes), so here it is written as the generic serializer
writes it (strings as strings, numbers as their strings, binary base64-encoded, lists and
maps recursively, members the shape does not have left out) in one recursive function.
Anything else (a value that is not such a dict) goes the generic way. DynamoDB and
DynamoDB Streams responses both use it (both models name the shape ``AttributeValue``).

Installed once per process by ``shardline.local.embedded``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

SCALARS = frozenset(("S", "N"))
FLAGS = frozenset(("BOOL", "NULL"))
STRING_SETS = frozenset(("SS", "NS"))
MEMBERS = SCALARS | FLAGS | STRING_SETS | {"B", "BS", "L", "M"}


class _NotWireForm(Exception):
    """The value is not a plain attribute value dict: serialize it the generic way."""


def _string(value: Any) -> Any:
    # the generic string serializer: str() of anything but None, {} and []
    return str(value) if value not in (None, {}, []) else value


def _binary(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray):
        raise _NotWireForm
    return base64.b64encode(value).strip().decode("utf-8")


def wire_form(value: Any) -> dict[str, Any]:
    """The JSON of one attribute value as moto's generic serializer writes it."""
    if not isinstance(value, dict):
        raise _NotWireForm
    out: dict[str, Any] = {}
    for name, inner in value.items():
        if name not in MEMBERS:
            continue  # not a member of the shape: the generic walk never sees it
        if inner is None:
            continue
        if name in SCALARS:
            out[name] = _string(inner)
        elif name in FLAGS:
            out[name] = inner
        elif name == "M":
            if not isinstance(inner, dict):
                raise _NotWireForm
            out[name] = {key: wire_form(element) for key, element in inner.items()}
        elif name == "L":
            out[name] = [wire_form(element) for element in inner]
        elif name == "B":
            out[name] = _binary(inner)
        elif name == "BS":
            out[name] = [_binary(element) for element in inner]
        else:  # SS, NS
            out[name] = [_string(element) for element in inner]
    return out


def _direct(original: Callable[..., None]) -> Callable[..., None]:
    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any,
                                  key: str) -> None:
        if key and value is not None and shape.name == "AttributeValue":
            try:
                serialized[self.get_serialized_name(shape, key)] = wire_form(value)
                return
            except _NotWireForm:
                pass
        original(self, serialized, value, shape, key)

    _serialize_type_structure.generic = original  # type: ignore[attr-defined]
    return _serialize_type_structure


def serialize_attribute_values_directly() -> None:
    """Install the direct path in moto's JSON response serializer."""
    from moto.core.serialize import BaseJSONSerializer

    BaseJSONSerializer._serialize_type_structure = _direct(
        BaseJSONSerializer._serialize_type_structure)


__all__ = ["serialize_attribute_values_directly", "wire_form"]
