"""Reading the deployed settings from the project's Terraform, without a second copy.

Only the parts of HCL that variable defaults and tfvars files use are understood: literals
(strings, numbers, booleans, null), objects, lists, and the type constructors
(``object({...})``, ``optional(type, default)``, ``list(...)``, ...). A ``variable``
block's effective default merges its ``default`` with the ``optional(..., default)``
values of its type, as Terraform does. Anything else in a file (resources, conditions,
expressions) is skipped, so the reader keeps working while the variables change shape:
a setting is looked up by name, flat (``aggregator_batch_size``) or nested
(``aggregator.batch_size``), whichever the files use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shardline.errors import ShardlineError

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+|\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<heredoc><<-?(?P<marker>[A-Za-z_]\w*)\n.*?\n[ \t]*(?P=marker)(?=\s|$))
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<punct>[{}\[\](),=:?<>!&|+*/%.-])
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class _Call:
    """A function call in a type expression: ``optional(number, 512)``."""

    name: str
    args: tuple[Any, ...]


class HclError(ShardlineError):
    """A file the reader cannot make sense of."""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise HclError(f"unexpected character {text[position]!r}")
        position = match.end()
        kind = "heredoc" if match.group("heredoc") else match.lastgroup or ""
        if kind != "space":
            tokens.append((kind, match.group()))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (expected is not None and token[1] != expected):
            raise HclError(f"expected {expected or 'a value'}, found {token[1] or 'the end'!r}")
        self.index += 1
        return token

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "heredoc":
            return text.split("\n", 1)[1].rsplit("\n", 1)[0]
        if kind == "string":
            return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
        if kind == "number":
            number = float(text)
            return int(number) if number.is_integer() and "." not in text else number
        if text == "{":
            return self._object()
        if text == "[":
            return self._list()
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            if self.peek()[1] == "(":
                self.take("(")
                args = self._items(")")
                return _Call(text, tuple(args))
            return _Call(text, ())  # a bare type name (number, string, ...)
        raise HclError(f"unexpected {text!r}")

    def _items(self, close: str) -> list[Any]:
        items = []
        while self.peek()[1] != close:
            items.append(self.value())
            if self.peek()[1] == ",":
                self.take(",")
        self.take(close)
        return items

    def _list(self) -> list[Any]:
        return self._items("]")

    def _object(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while self.peek()[1] != "}":
            kind, key = self.take()
            if kind not in ("name", "string"):
                raise HclError(f"expected an attribute name, found {key!r}")
            self.take("=" if self.peek()[1] == "=" else ":")
            result[key.strip('"')] = self.value()
            if self.peek()[1] == ",":
                self.take(",")
        self.take("}")
        return result


def parse_tfvars(text: str) -> dict[str, Any]:
    """The assignments of a ``.tfvars`` file (or ``.tfvars.json``-shaped HCL)."""
    parser = _Parser(_tokens(text))
    result: dict[str, Any] = {}
    while parser.peek()[0] != "end":
        kind, name = parser.take()
        if kind != "name":
            raise HclError(f"expected a variable name, found {name!r}")
        parser.take("=")
        result[name] = parser.value()
    return result


def _block_body(tokens: list[tuple[str, str]], start: int) -> tuple[int, int]:
    """(first, end) token indices of the block whose ``{`` is at ``start``."""
    depth = 0
    for index in range(start, len(tokens)):
        if tokens[index][1] in ("{", "(", "["):
            depth += 1
        elif tokens[index][1] in ("}", ")", "]"):
            depth -= 1
            if depth == 0:
                return start + 1, index
    raise HclError("unbalanced braces")


def _attribute(tokens: list[tuple[str, str]], first: int, end: int, name: str) -> Any:
    """The value of ``name = ...`` at the top level of a block body, or ``_MISSING``."""
    depth = 0
    for index in range(first, end):
        text = tokens[index][1]
        if text in ("{", "(", "["):
            depth += 1
        elif text in ("}", ")", "]"):
            depth -= 1
        elif (depth == 0 and text == name and tokens[index][0] == "name"
              and index + 1 < end and tokens[index + 1][1] == "="):
            parser = _Parser(tokens[index + 2:end])
            value = parser.value()
            if parser.peek()[0] not in ("end", "name"):  # an expression: not a literal
                raise HclError(f"{name} is an expression")
            return value
    return _MISSING


_MISSING = object()


def type_defaults(type_expr: Any) -> Any:
    """The value Terraform gives an empty object of ``type_expr``: each ``optional``
    attribute's default (nested objects included); None when the type has none."""
    if not isinstance(type_expr, _Call) or type_expr.name != "object" or not type_expr.args:
        return None
    attributes = type_expr.args[0]
    if not isinstance(attributes, dict):
        return None
    result = {}
    for key, attribute in attributes.items():
        result[key] = _attribute_default(attribute)
    return result


def _attribute_default(attribute: Any) -> Any:
    if isinstance(attribute, _Call) and attribute.name == "optional":
        inner = attribute.args[0] if attribute.args else None
        if len(attribute.args) < 2:
            return None
        return with_type_defaults(attribute.args[1], inner)
    return None


def with_type_defaults(value: Any, type_expr: Any) -> Any:
    """``value`` with the missing optional attributes of ``type_expr`` filled in."""
    defaults = type_defaults(type_expr)
    if not isinstance(defaults, dict) or not isinstance(value, dict):
        return value
    attributes = type_expr.args[0]
    merged = dict(defaults)
    for key, given in value.items():
        attribute = attributes.get(key)
        inner = attribute.args[0] if isinstance(attribute, _Call) and attribute.args else attribute
        merged[key] = with_type_defaults(given, inner)
    return merged


def parse_variables(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(defaults, types) of the ``variable`` blocks of a ``.tf`` file. A required object
    variable maps to its optional attributes' defaults, any other one without a default to
    None; the types are kept so tfvars values can be completed with them."""
    tokens = _tokens(text)
    defaults: dict[str, Any] = {}
    types: dict[str, Any] = {}
    index = 0
    while index < len(tokens):
        if (tokens[index] == ("name", "variable") and index + 2 < len(tokens)
                and tokens[index + 1][0] == "string" and tokens[index + 2][1] == "{"):
            name = tokens[index + 1][1].strip('"')
            first, end = _block_body(tokens, index + 2)
            index = end + 1
            try:
                type_expr = _attribute(tokens, first, end, "type")
                default = _attribute(tokens, first, end, "default")
            except HclError:
                continue  # a shape this reader does not know: the setting stays unknown
            types[name] = None if type_expr is _MISSING else type_expr
            if default is _MISSING:  # required: what its type's optional attributes default to
                defaults[name] = type_defaults(types[name])
            else:
                defaults[name] = with_type_defaults(default, types[name])
        else:
            index += 1
    return defaults, types


def read_variables(paths: Sequence[Path]) -> tuple[dict[str, Any], dict[str, Any]]:
    defaults: dict[str, Any] = {}
    types: dict[str, Any] = {}
    for path in paths:
        file_defaults, file_types = parse_variables(_read(path))
        defaults.update(file_defaults)
        types.update(file_types)
    return defaults, types


def read_tfvars(path: Path, types: Mapping[str, Any]) -> dict[str, Any]:
    """A tfvars file's values, objects completed with their types' optional defaults."""
    try:
        values = parse_tfvars(_read(path))
    except HclError as exc:
        raise ShardlineError(f"cannot parse {path}: {exc}") from None
    return {name: with_type_defaults(value, types.get(name)) for name, value in values.items()}


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ShardlineError(f"cannot read {path}: {exc.strerror}") from None


__all__ = ["HclError", "parse_tfvars", "parse_variables", "read_tfvars", "read_variables",
           "type_defaults", "with_type_defaults"]
