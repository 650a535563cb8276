"""DynamoDB update expressions parsed once per distinct text by the embedded AWS.

moto tokenizes and parses an ``UpdateExpression`` twice per UpdateItem (once to check the
names and values it uses, once to apply it), although a function sends the same few
texts over and over: the device-state worker one per item kind, the aggregator one per
cell update. The parsed tree is never changed by its users (the validator works on a
deep copy of it, the request check only reads it), so a tree per text is kept and shared.
An expression that does not parse raises each time, as before (errors are not cached).

Installed once per process by ``shardline.local.embedded``.
"""

from __future__ import annotations

import functools
from typing import Any

PARSED_EXPRESSIONS = 1024  # distinct texts kept (least recently used dropped)


def parse_update_expressions_once() -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    generic = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]

    @functools.lru_cache(maxsize=PARSED_EXPRESSIONS)
    def parsed(expression: str) -> Any:
        return generic(UpdateExpressionParser, expression)

    def make(cls: type, expression: str) -> Any:
        if cls is not UpdateExpressionParser:  # a subclass parses its own way
            return generic(cls, expression)
        return parsed(expression)

    UpdateExpressionParser.make = classmethod(make)  # type: ignore[method-assign]
