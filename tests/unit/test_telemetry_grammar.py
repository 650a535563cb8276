"""The exact grammar of telemetry identifiers and metric values (docs/data-contract.md).

Identifiers: device_id, site and metric names (keys of ``metrics``) match their pattern as
a whole string, ASCII only: no control character or whitespace anywhere, the end included.
Values: JSON numbers kept exactly as written, on the grid |value| < 1E+9 and a whole
number of millionths; anything else is refused with a reason, never rounded.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.shared import telemetry
from lambdas.shared.aggregates import Stats
from lambdas.shared.telemetry import InvalidTelemetry
from tests.factories.telemetry import with_identifier, with_metric_text

# kind -> (longest valid name, every punctuation character it allows)
IDENTIFIERS = {
    "device_id": ("d" * 128, "dev_0.a:b-c"),
    "site": ("s" * 64, "plant_0.a-b"),
    "metric": ("m" * 64, "temperature_c_2"),
}

REFUSED_TEXTS = {
    "empty": "",
    "leading_space": " abc",
    "trailing_space": "abc ",
    "inner_space": "a bc",
    "trailing_newline": "abc\n",
    "leading_newline": "\nabc",
    "trailing_crlf": "abc\r\n",
    "tab": "a\tbc",
    "nul": "a\x00bc",
    "del": "a\x7fbc",
    "nbsp": "a\u00a0bc",
    "line_separator": "abc\u2028",
    "non_ascii_letter": "caf\u00e9",
    "non_ascii_digit": "abc\u0663",
    "slash": "a/bc",
    "hash": "a#bc",
    "pipe": "a|bc",
}


def decodes(data: bytes) -> bool:
    try:
        telemetry.decode(data)
    except InvalidTelemetry as exc:
        assert exc.reason.startswith("schema:")
        return False
    return True


# Identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
def test_identifiers_at_their_maximum_length_with_allowed_punctuation_are_accepted(kind):
    # GIVEN the longest name and one with every punctuation character the kind allows
    longest, punctuated = IDENTIFIERS[kind]

    # WHEN / THEN both decode, and a single character is enough
    assert decodes(with_identifier(kind, longest))
    assert decodes(with_identifier(kind, punctuated))
    assert decodes(with_identifier(kind, "a"))


@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
def test_identifiers_one_past_their_maximum_length_are_refused(kind):
    # GIVEN a name one character longer than allowed / WHEN / THEN it is refused
    longest, _ = IDENTIFIERS[kind]
    assert not decodes(with_identifier(kind, longest + "x"))


@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
@pytest.mark.parametrize("name", sorted(REFUSED_TEXTS))
@pytest.mark.parametrize("raw_utf8", [False, True], ids=["escaped", "raw"])
def test_identifiers_refuse_whitespace_controls_non_ascii_and_separators(kind, name,
                                                                          raw_utf8):
    # GIVEN a name with whitespace, a control or non-ASCII character anywhere (written as
    # a JSON escape or as raw UTF-8), or a key separator (# |) or a slash
    data = with_identifier(kind, REFUSED_TEXTS[name], ensure_ascii=not raw_utf8)

    # WHEN / THEN it is refused
    assert not decodes(data)


@pytest.mark.parametrize(
    ("kind", "text"),
    [("device_id", "-dev"), ("device_id", ".dev"), ("site", "_site"), ("site", "a:b"),
     ("metric", "1metric"), ("metric", "_metric"), ("metric", "Temperature"),
     ("metric", "temp-c"), ("metric", "temp.c")],
)
def test_identifiers_refuse_a_bad_first_character_or_a_foreign_punctuation(kind, text):
    # GIVEN a name starting with punctuation (or a digit for a metric), or using a
    # character another kind allows / WHEN / THEN it is refused
    assert not decodes(with_identifier(kind, text))


# Values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("21.40", "21.40"), ("21.4", "21.4"), ("0", "0"), ("-0", "0"), ("0.0", "0.0"),
        ("-0.5", "-0.5"), ("1200", "1200"), ("0.000001", "0.000001"), ("1E-6", "0.000001"),
        ("2.5E-3", "0.0025"), ("1E+5", "1E+5"), ("1.5e2", "1.5E+2"),
        ("999999999.999999", "999999999.999999"), ("-999999999.999999", "-999999999.999999"),
        ("999999999", "999999999"), ("123456.000000", "123456.000000"),
        ("21.4000000", "21.4000000"), ("0E-7", "0E-7"), ("-0.0", "-0.0"),
    ],
)
def test_values_on_the_grid_are_kept_exactly_as_written(text, exact):
    # GIVEN a metric value written as this JSON number
    data = with_metric_text(text)

    # WHEN it is decoded
    value = telemetry.decode(data).metrics["temperature_c"]

    # THEN it is that Decimal, digit for digit (trailing zeros included: they are on the
    # grid, numerically)
    assert type(value) is Decimal
    assert str(value) == exact


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0.0000001", "precision"), ("1E-7", "precision"), ("21.40000001", "precision"),
        ("0.12345678901234567890", "precision"), ("1.5E-7", "precision"),
        ("1000000000", "range"), ("1E+9", "range"), ("-1000000000.5", "range"),
        ("9007199254740993", "range"), ("1e999", "range"), ("1e-999", "precision"),
        ("1" * 5000, "range"),
        ('"21.4"', "schema"), ("true", "schema"), ("false", "schema"), ("null", "schema"),
        ("[21.4]", "schema"), ('{"v":21.4}', "schema"),
    ],
)
def test_values_the_grid_cannot_keep_exactly_are_refused_not_rounded(text, reason):
    # GIVEN a metric value off the grid, or not a JSON number at all
    data = with_metric_text(text)

    # WHEN it is decoded
    with pytest.raises(InvalidTelemetry) as caught:
        telemetry.decode(data)

    # THEN it is refused with the reason kind, naming the metric when it can
    assert caught.value.reason.startswith(reason + ":")
    if reason != "range" or len(text) < 100:
        assert "temperature_c" in caught.value.reason


on_grid_values = st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1).map(
    lambda units: Decimal(units).scaleb(-telemetry.VALUE_MAX_DECIMALS)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(on_grid_values, min_size=1, max_size=40))
def test_statistics_of_values_on_the_grid_are_exact(values):
    # GIVEN any values on the grid, however far apart (the whole 15-digit span)
    records = [telemetry.decode(with_metric_text(str(v))) for v in values]
    decoded = [record.metrics["temperature_c"] for record in records]

    # WHEN the aggregates' 38-digit statistics fold them
    stats = Stats.of(decoded[0])
    for value in decoded[1:]:
        stats.add(value)

    # THEN sum and sum of squares equal the exact ones (computed with 100 digits)
    with localcontext(Context(prec=100)):
        assert stats.total == sum(values, Decimal(0))
        assert stats.sum_squares == sum((v * v for v in values), Decimal(0))
    assert decoded == values
