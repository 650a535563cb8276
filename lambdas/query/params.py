"""``GET /query``'s query string → a checked ``QuerySpec`` and an output format (pure).

The parameters mirror ``shardline query``'s flags: ``device`` | ``site`` | ``fleet``,
``metric`` (repeated, or a comma-separated list: payload format 2.0 joins repeated
parameters with commas), ``since``, ``until``, ``range`` (``<since>/<until>``),
``resolution`` (1m, 5m, 1h) and ``format`` (json or csv). HTTP APIs validate no request
parameters themselves (they have no request validators, unlike REST APIs), so every
check is made here; anything wrong is a ``QueryError`` whose message the API returns with
status 400. An unknown parameter is an error too, so a misspelt one is never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shardline.query import QueryError, QuerySpec

FORMATS = {"json": "application/json", "csv": "text/csv"}
PARAMETERS = ("device", "site", "fleet", "metric", "since", "until", "range", "resolution",
              "format")
_TRUE, _FALSE = ("", "true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True)
class QueryRequest:
    spec: QuerySpec
    format: str  # json or csv

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]


def parse_request(parameters: Mapping[str, str] | None, *,
                  now: float | None = None) -> QueryRequest:
    """The request of a query string's parameters; a one-line QueryError if any is wrong."""
    given = dict(parameters or {})
    unknown = sorted(set(given) - set(PARAMETERS))
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0]!r}: use {', '.join(PARAMETERS)}")
    fmt = given.get("format", "json")
    if fmt not in FORMATS:
        raise QueryError(f"invalid format {fmt!r}: use {', '.join(FORMATS)}")
    metrics = [name.strip() for name in given.get("metric", "").split(",") if name.strip()]
    if not metrics:
        raise QueryError("name at least one metric, e.g. metric=temperature_c")
    spec = QuerySpec.parse(
        device=given.get("device") or None, site=given.get("site") or None,
        fleet=_flag(given.get("fleet")), metrics=metrics, since=given.get("since") or None,
        until=given.get("until") or None, interval=given.get("range") or None,
        resolution=given.get("resolution", "1m"), now=now)
    return QueryRequest(spec, fmt)


def _flag(value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise QueryError(f"invalid fleet {value!r}: use fleet=true (or leave it out)")


__all__ = ["FORMATS", "PARAMETERS", "QueryRequest", "parse_request"]
