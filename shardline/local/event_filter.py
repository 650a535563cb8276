"""Lambda event filtering (an event source mapping's ``FilterCriteria``), as AWS documents it.

A mapping has up to 5 filters; a record is sent to the function when it matches at least
one (OR); within a pattern every field named must match (AND) and fields the pattern does
not name are ignored. A record that matches no filter is discarded: a stream's checkpoint
moves past it, a queue's message is deleted. Patterns are validated when a mapping is
created or updated (``InvalidParameterValueException`` on AWS).

The rule kinds are those Lambda's guide lists ("Control which events Lambda sends to your
function"): equals (strings, ``null``, ``""``), or (several values), anything-but,
numeric equals and ranges, exists / does not exist, prefix, suffix and equals-ignore-case.
EventBridge-only forms (wildcard, cidr, ``$or``, anything-but with prefix/suffix/
ignore-case) are refused, so a pattern accepted here is one Lambda documents.

What a pattern is matched against (``*_document``): the data key decoded — Kinesis
``data`` (base64, then JSON), SQS ``body`` (JSON, else the plain string), DynamoDB the
record with its ``dynamodb`` change and metadata such as ``eventName`` and
``userIdentity``. Kinesis and SQS mappings filter only on their data key. Data that is
not JSON never matches a pattern on the data key (a plain SQS body can match a plain
string rule: ``{"body": ["text"]}``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

MAX_FILTERS = 5
MAX_PATTERN_LENGTH = 4096
NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")
RULE_KINDS = ("anything-but", "numeric", "exists", "prefix", "suffix", "equals-ignore-case")
# The data key a pattern must give as a JSON object, per event source service.
OBJECT_DATA_KEYS = {"kinesis": "data", "dynamodb": "dynamodb"}


class FilterPatternError(ValueError):
    """A FilterCriteria Lambda refuses (InvalidParameterValueException)."""


class _NotJson:
    """Stands for data that is not JSON: no rule and no nested pattern matches it."""


NOT_JSON = _NotJson()
_ABSENT = object()


# -- validation --------------------------------------------------------------------------
def criteria_patterns(criteria: dict[str, Any] | None, service: str = "") -> tuple[str, ...]:
    """The patterns of a FilterCriteria as the Lambda API takes it; raises
    ``FilterPatternError`` for one Lambda refuses. ``{}`` or no filters: none."""
    filters = (criteria or {}).get("Filters") or []
    if len(filters) > MAX_FILTERS:
        raise FilterPatternError(
            f"Too many filters: {len(filters)}; a mapping takes at most {MAX_FILTERS}")
    patterns = tuple(str((entry or {}).get("Pattern", "")) for entry in filters)
    for pattern in patterns:
        validate_pattern(pattern, service)
    return patterns


def validate_pattern(pattern: str, service: str = "") -> None:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterPatternError(f"Filter pattern longer than {MAX_PATTERN_LENGTH} characters")
    try:
        parsed = json.loads(pattern)
    except ValueError as exc:
        raise FilterPatternError(f"Invalid filter pattern definition: {exc}") from exc
    if not isinstance(parsed, dict) or not parsed:
        raise FilterPatternError("Invalid filter pattern definition: not a JSON object")
    data_key = OBJECT_DATA_KEYS.get(service)
    if data_key in parsed and not isinstance(parsed[data_key], dict):
        raise FilterPatternError(
            f"Invalid filter pattern definition: '{data_key}' must be a JSON object")
    _validate_object(parsed, path="")


def _validate_object(node: dict[str, Any], path: str) -> None:
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            if not value:
                raise FilterPatternError(f"Empty object at '{where}'")
            _validate_object(value, where)
        elif isinstance(value, list):
            if not value:
                raise FilterPatternError(f"Empty match list at '{where}'")
            for rule in value:
                _validate_rule(rule, where)
        else:
            raise FilterPatternError(f"Match value at '{where}' must be an object or an array")


def _validate_rule(rule: Any, where: str) -> None:
    if rule is None or isinstance(rule, str | int | float | bool):
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        raise FilterPatternError(f"Invalid rule at '{where}': {json.dumps(rule)}")
    kind, operand = next(iter(rule.items()))
    if kind not in RULE_KINDS:
        raise FilterPatternError(f"Unsupported rule '{kind}' at '{where}'")
    valid = {
        "anything-but": _valid_anything_but,
        "numeric": _valid_numeric,
        "exists": lambda v: isinstance(v, bool),
        "prefix": lambda v: isinstance(v, str),
        "suffix": lambda v: isinstance(v, str),
        "equals-ignore-case": lambda v: isinstance(v, str),
    }[kind]
    if not valid(operand):
        raise FilterPatternError(f"Invalid '{kind}' operand at '{where}': {json.dumps(operand)}")


def _valid_anything_but(operand: Any) -> bool:
    values = operand if isinstance(operand, list) else [operand]
    return bool(values) and all(_is_number(v) or isinstance(v, str) for v in values)


def _valid_numeric(operand: Any) -> bool:
    """``["=", n]`` or one or two bounds: ``[">", a]``, ``[">", a, "<=", b]``."""
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        return False
    pairs = [(operand[i], operand[i + 1]) for i in range(0, len(operand), 2)]
    if any(op not in NUMERIC_OPERATORS or not _is_number(n) for op, n in pairs):
        return False
    if len(pairs) == 1:
        return True
    lower = [n for op, n in pairs if op in (">", ">=")]
    upper = [n for op, n in pairs if op in ("<", "<=")]
    return len(lower) == 1 and len(upper) == 1 and lower[0] < upper[0]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- matching ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _parsed(pattern: str) -> dict[str, Any]:
    return dict(json.loads(pattern))


def matches_any(patterns: Sequence[str], document: dict[str, Any]) -> bool:
    """True when there are no patterns or the document matches at least one."""
    return not patterns or any(_match_object(_parsed(p), document) for p in patterns)


def _match_object(pattern: dict[str, Any], document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    for key, expected in pattern.items():
        value = document.get(key, _ABSENT)
        if value is NOT_JSON:
            return False
        if isinstance(expected, dict):
            if not _match_object(expected, {} if value is _ABSENT else value):
                return False
        elif not _match_leaf(expected, value):
            return False
    return True


def _match_leaf(rules: list[Any], value: Any) -> bool:
    if value is _ABSENT:
        return any(isinstance(r, dict) and r.get("exists") is False for r in rules)
    if isinstance(value, dict):
        return False
    values = value if isinstance(value, list) else [value]
    return any(_match_rule(rule, v) for rule in rules for v in values)


def _match_rule(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return _same(rule, value)
    kind, operand = next(iter(rule.items()))
    if kind == "exists":
        return bool(operand)
    if kind == "anything-but":
        excluded = operand if isinstance(operand, list) else [operand]
        return value is not None and not any(_same(x, value) for x in excluded)
    if kind == "numeric":
        return _is_number(value) and _in_range(operand, value)
    if not isinstance(value, str):
        return False
    if kind == "prefix":
        return value.startswith(operand)
    if kind == "suffix":
        return value.endswith(operand)
    return value.casefold() == str(operand).casefold()  # equals-ignore-case


def _same(expected: Any, value: Any) -> bool:
    """Exact equality; numbers compare as written (300 and 300.0 differ), so do booleans."""
    return type(expected) is type(value) and expected == value


def _in_range(operand: list[Any], value: float) -> bool:
    checks = {"=": value.__eq__, "<": value.__lt__, "<=": value.__le__,
              ">": value.__gt__, ">=": value.__ge__}
    return all(checks[operand[i]](operand[i + 1]) for i in range(0, len(operand), 2))


# -- what each source's records are matched as -------------------------------------------
def _json_object(text: str) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def kinesis_document(record: dict[str, Any]) -> dict[str, Any]:
    """A Kinesis event record as filters see it: its ``data`` decoded (JSON only)."""
    try:
        text = base64.b64decode(record["kinesis"]["data"]).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return {"data": NOT_JSON}
    data = _json_object(text)
    return {"data": NOT_JSON if data is None else data}


def sqs_document(record: dict[str, Any]) -> dict[str, Any]:
    """An SQS event record as filters see it: ``body`` as JSON, else the plain string."""
    body = str(record.get("body", ""))
    data = _json_object(body)
    return {"body": body if data is None else data}


def dynamodb_document(record: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB stream event record as filters see it: the record itself."""
    return record


def documents_for(service: str) -> Any:
    """The document function for a mapping's source service."""
    return {"kinesis": kinesis_document, "sqs": sqs_document,
            "dynamodb": dynamodb_document}[service]


def kept(patterns: Sequence[str], service: str,
         records: Iterable[dict[str, Any]]) -> list[bool]:
    """For each event record, whether the mapping's filters let it through."""
    document = documents_for(service)
    return [matches_any(patterns, document(record)) for record in records]
