"""Lambda event filtering rules (shardline.local.event_filter), one documented rule kind at
a time: equals, null, empty, or, anything-but, numeric, exists, prefix, suffix,
equals-ignore-case; AND within a pattern, OR between patterns; validation as Lambda refuses
patterns at CreateEventSourceMapping / UpdateEventSourceMapping."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shardline.local.event_filter import (
    FilterPatternError,
    criteria_patterns,
    dynamodb_document,
    kept,
    kinesis_document,
    matches_any,
    sqs_document,
)


def _match(pattern: dict[str, Any], document: dict[str, Any]) -> bool:
    return matches_any([json.dumps(pattern)], document)


@pytest.mark.parametrize(("rule", "value", "expected"), [
    ("Alice", "Alice", True),
    ("Alice", "alice", False),          # exact, no case folding
    ("", "", True),                     # empty
    (None, None, True),                 # null
    (None, "", False),
    (100, 100, True),
    (300, 300.0, False),                # numbers compare as written
    (True, True, True),
    (True, 1, False),
    ("1", 1, False),
])
def test_equality_rules(rule: Any, value: Any, expected: bool) -> None:
    # GIVEN a pattern with one literal WHEN a document carries a value THEN it matches exactly
    assert _match({"field": [rule]}, {"field": value}) is expected


def test_a_list_of_values_is_an_or_and_an_array_value_matches_any_element() -> None:
    # GIVEN a field with two accepted values
    pattern = {"payment": ["Credit", "Debit"]}
    # THEN either value matches, another does not, and an array matches by any element
    assert _match(pattern, {"payment": "Debit"})
    assert not _match(pattern, {"payment": "Cash"})
    assert _match(pattern, {"payment": ["Cash", "Credit"]})


def test_fields_of_a_pattern_are_anded_and_unnamed_fields_ignored() -> None:
    pattern = {"city": ["Seattle"], "state": ["WA"]}
    assert _match(pattern, {"city": "Seattle", "state": "WA", "other": 1})
    assert not _match(pattern, {"city": "Seattle", "state": "OR"})
    assert not _match(pattern, {"city": "Seattle"})  # every named field must be present


def test_patterns_of_a_mapping_are_ored() -> None:
    patterns = [json.dumps({"a": ["1"]}), json.dumps({"b": ["2"]})]
    assert matches_any(patterns, {"b": "2"})
    assert not matches_any(patterns, {"a": "2", "b": "1"})
    assert matches_any([], {"anything": "at all"})  # no filters: everything passes


def test_nested_objects_are_matched_field_by_field() -> None:
    pattern = {"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}
    assert _match(pattern, {"dynamodb": {"Keys": {"Id": {"N": "101"}}, "x": 1}})
    assert not _match(pattern, {"dynamodb": {"Keys": {"Id": {"N": "102"}}}})
    assert not _match(pattern, {"dynamodb": {"Keys": {"Id": "101"}}})
    assert not _match(pattern, {"dynamodb": {}})


@pytest.mark.parametrize(("operand", "value", "expected"), [
    (["Raining"], "Sunny", True),
    (["Raining"], "Raining", False),
    ("Raining", "Raining", False),
    (["Raining", "Snowing"], "Snowing", False),
    ([100], 101, True),
    ([100], 100, False),
])
def test_anything_but(operand: Any, value: Any, expected: bool) -> None:
    assert _match({"weather": [{"anything-but": operand}]}, {"weather": value}) is expected


def test_anything_but_needs_the_field() -> None:
    assert not _match({"weather": [{"anything-but": ["Raining"]}]}, {"other": "x"})


@pytest.mark.parametrize(("operand", "value", "expected"), [
    (["=", 100], 100, True),
    (["=", 100], 100.0, True),
    (["=", 100], "100", False),          # numeric rules match numbers only
    ([">", 10, "<=", 20], 20, True),
    ([">", 10, "<=", 20], 10, False),
    ([">", 10, "<=", 20], 20.5, False),
    ([">=", 0], 0, True),
    (["<", 0], -0.5, True),
])
def test_numeric_rules(operand: list[Any], value: Any, expected: bool) -> None:
    assert _match({"price": [{"numeric": operand}]}, {"price": value}) is expected


def test_exists_and_does_not_exist() -> None:
    present = {"product": [{"exists": True}]}
    absent = {"product": [{"exists": False}]}
    assert _match(present, {"product": "x"})
    assert not _match(present, {"other": "x"})
    assert _match(absent, {"other": "x"})
    assert not _match(absent, {"product": "x"})
    # a field inside an absent object does not exist either
    assert _match({"order": {"coupon": [{"exists": False}]}}, {"other": 1})


@pytest.mark.parametrize(("rule", "value", "expected"), [
    ({"prefix": "us-"}, "us-east-1", True),
    ({"prefix": "us-"}, "eu-west-1", False),
    ({"prefix": "1"}, 12, False),        # string rules match strings only
    ({"suffix": ".png"}, "a.png", True),
    ({"suffix": ".png"}, "a.jpg", False),
    ({"equals-ignore-case": "alice"}, "ALICE", True),
    ({"equals-ignore-case": "alice"}, "alicia", False),
])
def test_string_rules(rule: dict[str, Any], value: Any, expected: bool) -> None:
    assert _match({"field": [rule]}, {"field": value}) is expected


# -- validation --------------------------------------------------------------------------
def _criteria(*patterns: Any) -> dict[str, Any]:
    return {"Filters": [{"Pattern": p if isinstance(p, str) else json.dumps(p)}
                        for p in patterns]}


def test_valid_criteria_give_their_patterns() -> None:
    assert criteria_patterns(_criteria({"a": ["1"]}, {"b": [{"numeric": [">", 1]}]}),
                             "sqs") == ('{"a": ["1"]}', '{"b": [{"numeric": [">", 1]}]}')
    assert criteria_patterns({}) == ()
    assert criteria_patterns(None) == ()
    assert criteria_patterns({"Filters": []}) == ()


@pytest.mark.parametrize("pattern", [
    "not json",
    "[1, 2]",
    "{}",
    {"a": "1"},                                   # a leaf must be an array
    {"a": []},
    {"a": {}},
    {"a": [{"wildcard": "*.png"}]},               # EventBridge-only
    {"a": [{"cidr": "10.0.0.0/24"}]},
    {"a": [{"anything-but": {"prefix": "x"}}]},
    {"a": [{"numeric": [">", "ten"]}]},
    {"a": [{"numeric": ["!=", 1]}]},
    {"a": [{"numeric": [">", 5, "<", 1]}]},
    {"a": [{"numeric": [">", 1, ">", 2]}]},
    {"a": [{"exists": "yes"}]},
    {"a": [{"prefix": 1}]},
    {"a": [{"prefix": "x", "suffix": "y"}]},
    {"$or": [{"a": ["1"]}, {"b": ["2"]}]},
])
def test_malformed_patterns_are_refused(pattern: Any) -> None:
    with pytest.raises(FilterPatternError):
        criteria_patterns(_criteria(pattern), "sqs")


def test_limits_on_filters_and_pattern_size() -> None:
    criteria_patterns(_criteria(*({"a": [str(i)]} for i in range(5))))
    with pytest.raises(FilterPatternError):
        criteria_patterns(_criteria(*({"a": [str(i)]} for i in range(6))))
    with pytest.raises(FilterPatternError):
        criteria_patterns(_criteria({"a": ["x" * 4100]}))


def test_stream_data_patterns_must_be_objects() -> None:
    with pytest.raises(FilterPatternError):
        criteria_patterns(_criteria({"data": ["plain"]}), "kinesis")
    with pytest.raises(FilterPatternError):
        criteria_patterns(_criteria({"dynamodb": ["x"]}), "dynamodb")
    assert criteria_patterns(_criteria({"body": ["plain"]}), "sqs")  # a plain SQS body


# -- documents per source ----------------------------------------------------------------
def _kinesis_record(data: bytes) -> dict[str, Any]:
    return {"kinesis": {"data": base64.b64encode(data).decode(), "partitionKey": "pk"}}


def test_kinesis_data_is_decoded_and_non_json_data_never_matches_a_data_pattern() -> None:
    pattern = json.dumps({"data": {"kind": ["reading"]}})
    absent = json.dumps({"data": {"kind": [{"exists": False}]}})
    assert matches_any([pattern], kinesis_document(_kinesis_record(b'{"kind": "reading"}')))
    assert not matches_any([pattern], kinesis_document(_kinesis_record(b"kind=reading")))
    assert not matches_any([absent], kinesis_document(_kinesis_record(b"\xf3\x89\x9a\xc2")))
    # Kinesis mappings filter on data only: metadata is not part of the document
    assert not matches_any([json.dumps({"partitionKey": ["pk"]})],
                           kinesis_document(_kinesis_record(b"{}")))


def test_sqs_bodies_json_or_plain_match_only_patterns_of_their_format() -> None:
    json_pattern = json.dumps({"body": {"code": ["A"]}})
    plain_pattern = json.dumps({"body": ["hello"]})
    json_body, plain_body = {"body": '{"code": "A"}'}, {"body": "hello"}
    assert matches_any([json_pattern], sqs_document(json_body))
    assert not matches_any([plain_pattern], sqs_document(json_body))
    assert matches_any([plain_pattern], sqs_document(plain_body))
    assert not matches_any([json_pattern], sqs_document(plain_body))


def test_dynamodb_records_match_on_their_change_and_metadata() -> None:
    ttl_delete = {"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "a"}}},
                  "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    insert = {"eventName": "INSERT",
              "dynamodb": {"NewImage": {"sk": {"S": "partial#1"}}}}
    only_partials = [json.dumps(
        {"dynamodb": {"NewImage": {"sk": {"S": [{"prefix": "partial#"}]}}}})]
    ttl_expiry = [json.dumps(
        {"userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}})]
    assert kept(only_partials, "dynamodb", [insert, ttl_delete]) == [True, False]
    assert matches_any(ttl_expiry, dynamodb_document(ttl_delete))
    assert not matches_any(ttl_expiry, dynamodb_document(insert))
