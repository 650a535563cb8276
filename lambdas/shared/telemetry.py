"""Telemetry data contract (DESIGN.md, "Data contract"; the full grammar: docs/data-contract.md).

One JSON object per user record, partition key = ``device_id``. Schema versions are
explicit: each version is a msgspec ``Struct`` tagged by its ``v`` field, and the decoder
accepts the union of all known versions. Adding a v2 means adding a Struct to
``KNOWN_VERSIONS`` and a ``to_readings`` branch; the consumers' hot path is unchanged.

Three rules shape the decoding:

* **Identifiers are exact.** ``device_id``, ``site`` and metric names match their patterns
  as a whole string (``\\A…\\Z``: ``$`` would let a trailing newline through), ASCII only.
* **No value is altered.** A metric value is read as a ``Decimal`` from its JSON number
  text (``21.40`` stays ``Decimal('21.40')``), never through a binary float. It must lie
  on the value grid (a whole number of ``VALUE_QUANTUM``, magnitude below ``VALUE_LIMIT``):
  on that grid every sum and sum of squares the aggregates keep is exact in DynamoDB's 38
  digits. A value off the grid is refused with a reason, never rounded; so is a JSON
  string, boolean or null, and a key written twice.
* **Forward compatible.** Unknown top-level fields of a v1 record are ignored and counted
  (``decode_with_unknown``). The strict decoder runs first; the lenient path, which also
  counts, runs only when the strict one reports an unknown field.
"""

from __future__ import annotations

import json
import math
from decimal import Context, Decimal
from typing import Annotated, Any

import msgspec

# Whole-string patterns: msgspec applies them with re.search, and ``\Z`` (unlike ``$``)
# matches only at the very end, so "dev-1\n" is refused. ASCII classes only.
DEVICE_ID_PATTERN = r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}\Z"
SITE_PATTERN = r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z"
METRIC_NAME_PATTERN = r"\A[a-z][a-z0-9_]{0,63}\Z"

# Event time must be plausible: not before 2020-01-01, not after 2100-01-01 (ms).
MIN_TS_MS = 1_577_836_800_000
MAX_TS_MS = 4_102_444_800_000
# seq and boot are int64 counters: what DynamoDB, JSON tooling and most devices hold.
MAX_COUNTER = 2**63 - 1
MAX_METRICS = 64

# The value grid: a whole number of millionths below 1E+9 in magnitude, i.e. at most 15
# significant digits, all on one grid. A square then lies on the 1E-12 grid below 1E+18 (30
# digits), so sums of up to 1E+8 squares fit DynamoDB's 38 digits exactly whatever the mix
# of magnitudes (docs/data-contract.md, "Values").
VALUE_MAX_INTEGER_DIGITS = 9
VALUE_MAX_DECIMALS = 6
VALUE_LIMIT = Decimal(10) ** VALUE_MAX_INTEGER_DIGITS
VALUE_QUANTUM = Decimal(10) ** -VALUE_MAX_DECIMALS
_INT_VALUE_LIMIT = 10**VALUE_MAX_INTEGER_DIGITS
# Below VALUE_LIMIT a remainder by the quantum needs 15 digits: never rounds, never raises.
_GRID_CONTEXT = Context(prec=38)

DeviceId = Annotated[str, msgspec.Meta(pattern=DEVICE_ID_PATTERN)]
Site = Annotated[str, msgspec.Meta(pattern=SITE_PATTERN)]
MetricName = Annotated[str, msgspec.Meta(pattern=METRIC_NAME_PATTERN)]
EventTimeMs = Annotated[int, msgspec.Meta(ge=MIN_TS_MS, lt=MAX_TS_MS)]
Counter = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNTER)]
# Values are typed Any so that JSON numbers keep their text (float_hook below) and a JSON
# string is seen as one: msgspec would accept "21.4" for a Decimal. ``_type_values`` types them.
Metrics = Annotated[dict[MetricName, Any], msgspec.Meta(min_length=1, max_length=MAX_METRICS)]


class TelemetryV1(
    msgspec.Struct, tag_field="v", tag=1, forbid_unknown_fields=True, frozen=True,
    omit_defaults=True,
):
    """Telemetry v1: one device's readings at one instant.

    ``boot`` tells a device's restarts apart (a boot counter or boot time); absent means 0
    and is not written, so a device that never sets it sends the same bytes as before.
    Metric values are ``Decimal`` once decoded (or built by ``new_v1``).
    """

    device_id: DeviceId
    site: Site
    ts: EventTimeMs
    seq: Counter
    metrics: Metrics
    boot: Counter = 0


class _LenientV1(TelemetryV1, tag=1, forbid_unknown_fields=False):
    """TelemetryV1 that skips unknown fields; used only after the strict decoder met one."""


class _ReservedV0(msgspec.Struct, tag_field="v", tag=0, frozen=True):
    """Never valid. With a single version msgspec would treat ``v`` as optional; a
    union of two tagged types makes the tag required, and is where a v2 goes."""


KNOWN_VERSIONS = TelemetryV1 | _ReservedV0  # add TelemetryV2 here
_LENIENT_VERSIONS = _LenientV1 | _ReservedV0  # ... and its lenient twin here
Telemetry = TelemetryV1
V1_FIELDS = frozenset(("v", *TelemetryV1.__struct_fields__))


class InvalidTelemetry(ValueError):
    """A user record that cannot be decoded or violates the contract; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# float_hook: a JSON number with a fraction or exponent becomes the Decimal of its text
# (integers are Python ints); both are exact.
_strict_decoder = msgspec.json.Decoder(KNOWN_VERSIONS, float_hook=Decimal)
_lenient_decoder = msgspec.json.Decoder(_LENIENT_VERSIONS, float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")


class Reading(msgspec.Struct, frozen=True, gc=False):
    """One metric value of one device at one event time, ready for aggregation.

    ``(device_id, boot, seq)`` identifies the reading's record (docs/data-contract.md).
    A frozen Struct, not a dataclass: one is built per metric on the hot path, and a
    frozen dataclass's ``__init__`` costs several times as much.
    """

    device_id: str
    site: str
    metric: str
    ts_ms: int
    value: Decimal
    seq: int
    boot: int


def decode(data: bytes) -> Telemetry:
    """Decode and validate one user record, raising ``InvalidTelemetry`` with a reason."""
    return decode_with_unknown(data)[0]


def decode_with_unknown(data: bytes) -> tuple[Telemetry, int]:
    """Decode and validate one user record; also say how many unknown top-level fields
    it carried (ignored, for forward compatibility). Raises ``InvalidTelemetry``."""
    unknown = 0
    try:
        record = _strict_decoder.decode(data)
    except msgspec.ValidationError as exc:
        if not _is_unknown_top_level_field(exc):
            raise InvalidTelemetry(_schema_reason(exc)) from None
        record, unknown = _decode_lenient(data)
    except msgspec.DecodeError as exc:
        raise InvalidTelemetry(f"decode: {exc}") from None
    if type(record) is _ReservedV0:
        raise InvalidTelemetry("schema: Invalid value 0 - at `$.v`")
    _type_values(record.metrics)
    if not unknown and not _keys_written_once(data, record):
        _refuse_duplicate_keys(data)
    return record, unknown


def _schema_reason(exc: msgspec.ValidationError) -> str:
    # An integer too long for Python to parse is a metric value out of range, not a typo.
    message = str(exc)
    kind = "range" if message.startswith("Integer value out of range") and \
        "$.metrics" in message else "schema"
    return f"{kind}: {exc}"


def _is_unknown_top_level_field(exc: msgspec.ValidationError) -> bool:
    # Only the record object itself has fixed fields; its error carries no " - at" path.
    message = str(exc)
    return message.startswith("Object contains unknown field") and " - at `" not in message


def _decode_lenient(data: bytes) -> tuple[Telemetry, int]:
    """The rare path: decode ignoring unknown fields, then count them (and refuse keys
    written twice, which the strict path's quick check cannot see past unknown fields)."""
    try:
        lenient = _lenient_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise InvalidTelemetry(_schema_reason(exc)) from None
    if type(lenient) is _ReservedV0:
        raise InvalidTelemetry("schema: Invalid value 0 - at `$.v`")
    top_keys = _refuse_duplicate_keys(data)
    record = TelemetryV1(**msgspec.structs.asdict(lenient))
    return record, sum(1 for key in top_keys if key not in V1_FIELDS)


def _type_values(metrics: dict[str, Any]) -> None:
    """Type every decoded metric value as an exact ``Decimal`` on the value grid, in place;
    raise ``InvalidTelemetry`` (``schema``, ``precision`` or ``range``) for any other."""
    for name, value in metrics.items():
        if type(value) is Decimal:
            if -VALUE_LIMIT < value < VALUE_LIMIT and not _remainder(value, VALUE_QUANTUM):
                continue
        elif type(value) is int and -_INT_VALUE_LIMIT < value < _INT_VALUE_LIMIT:
            metrics[name] = Decimal(value)  # replacing a value, not a key: safe mid-loop
            continue
        raise InvalidTelemetry(_value_problem(name, value))


_remainder = _GRID_CONTEXT.remainder


def _value_problem(name: str, value: Any) -> str:
    where = f"metric `{name}`"
    if type(value) not in (Decimal, int):
        kind = _JSON_KINDS.get(type(value), type(value).__name__)
        return f"schema: {where} must be a JSON number, got {kind} - at `$.metrics.{name}`"
    if abs(value) >= VALUE_LIMIT:
        return (f"range: {where} = {value} is outside the accepted magnitudes "
                f"(|value| < 1E+{VALUE_MAX_INTEGER_DIGITS})")
    return (f"precision: {where} = {value} is finer than {VALUE_QUANTUM} (at most "
            f"{VALUE_MAX_DECIMALS} decimals); it would not be kept exactly")


_JSON_KINDS = {str: "a string", bool: "a boolean", type(None): "null", list: "an array",
               dict: "an object"}


def _keys_written_once(data: bytes, record: Telemetry) -> bool:
    """A quick proof that no key of ``data`` is written twice (msgspec keeps the last).

    The record decoded, so its strings (ids, names) hold no quote: every ``"`` in the
    bytes belongs to a key, ``device_id`` or ``site``. Six top-level keys are mandatory.
    When the count fits, no key repeats; ``False`` only means "look closer".
    """
    quotes = data.count(b'"') // 2
    keys = quotes - 2 - len(record.metrics)  # top-level keys written
    if keys == len(V1_FIELDS) - 1:  # every field but boot
        return True
    # With boot written, the count fits only if "boot" is there as a top-level key.
    return (keys == len(V1_FIELDS) and "boot" not in record.metrics
            and (record.boot != 0 or b'"boot"' in data))


def _refuse_duplicate_keys(data: bytes) -> list[str]:
    """Raise when the record object or its metrics repeat a key; return the top-level keys."""
    try:
        pairs = json.loads(data, object_pairs_hook=list, parse_int=_ignore, parse_float=_ignore,
                           parse_constant=_ignore)
    except ValueError as exc:  # msgspec accepted the JSON; this is not expected
        raise InvalidTelemetry(f"decode: {exc}") from None
    top_keys = [key for key, _ in pairs]
    metric_keys = [name for key, metrics in pairs if key == "metrics" for name, _ in metrics]
    for keys, where in ((top_keys, "`$`"), (metric_keys, "`$.metrics`")):
        if len(set(keys)) != len(keys):
            twice = sorted({key for key in keys if keys.count(key) > 1})
            raise InvalidTelemetry(f"schema: key `{twice[0]}` is written twice - at {where}")
    return top_keys


def _ignore(_text: str) -> None:
    return None


def to_readings(record: Telemetry) -> list[Reading]:
    """Flatten a decoded record into one reading per metric."""
    device_id, site, ts = record.device_id, record.site, record.ts
    seq, boot = record.seq, record.boot
    return [
        Reading(device_id, site, name, ts, value, seq, boot)
        for name, value in record.metrics.items()
    ]


def encode(record: Telemetry) -> bytes:
    """Encode a record as compact JSON (the bytes a device puts on the stream); Decimal
    values are written as JSON numbers with their exact digits."""
    return _encoder.encode(record)


def exact_value(value: Decimal | int | float) -> Decimal:
    """The Decimal a metric value is on the wire: a float is written (and so read back) as
    its shortest repr, ``21.4`` rather than the binary expansion."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    raise ValueError(f"a metric value is a finite number, not {value!r}")


def new_v1(
    device_id: str, site: str, ts: int, seq: int, metrics: dict[str, Decimal | int | float],
    *, boot: int = 0,
) -> TelemetryV1:
    """Build a v1 record with ``Decimal`` values (``exact_value``); no other validation
    (use ``decode(encode(...))`` to validate)."""
    exact = {name: exact_value(value) for name, value in metrics.items()}
    return TelemetryV1(device_id=device_id, site=site, ts=ts, seq=seq, metrics=exact, boot=boot)


__all__ = [
    "KNOWN_VERSIONS",
    "MAX_COUNTER",
    "VALUE_LIMIT",
    "VALUE_MAX_DECIMALS",
    "VALUE_MAX_INTEGER_DIGITS",
    "VALUE_QUANTUM",
    "InvalidTelemetry",
    "Reading",
    "Telemetry",
    "TelemetryV1",
    "decode",
    "decode_with_unknown",
    "encode",
    "exact_value",
    "new_v1",
    "to_readings",
]
