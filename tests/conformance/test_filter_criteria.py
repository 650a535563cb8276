"""Event filtering (FilterCriteria) on Kinesis, DynamoDB stream and SQS mappings, as Lambda's
guide documents it ("Control which events Lambda sends to your function" and its Kinesis,
DynamoDB and SQS pages): filters are ORed, a pattern's fields ANDed; records that match no
filter never reach the function, a stream's checkpoint moves past them and a queue's
message is deleted; data that is not JSON matches no pattern on the data key; malformed
criteria are refused with InvalidParameterValueException."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

RECORD = """
def lambda_handler(event, context):
    seen(event)
    return {}
"""


def _criteria(*patterns: dict[str, Any]) -> dict[str, Any]:
    return {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}


def _delivered(harness: Harness, function: str) -> list[str]:
    return [decode(r) for event in harness.seen(function) for r in event["Records"]]


def _kinesis(harness: Harness, *patterns: dict[str, Any]) -> str:
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)
    harness.map(stream, "sink", BatchSize=100, FilterCriteria=_criteria(*patterns))
    return stream


def test_kinesis_records_reach_the_function_only_when_their_json_data_matches(
        harness: Harness) -> None:
    # GIVEN a mapping filtering on a data field (prefix) AND another (numeric range)
    stream = _kinesis(harness, {"data": {"device": [{"prefix": "dev-"}],
                                         "temp": [{"numeric": [">", 10, "<=", 30]}]}})
    payloads = [json.dumps(p) for p in (
        {"device": "dev-1", "temp": 20},      # both fields match
        {"device": "dev-2", "temp": 31},      # out of range
        {"device": "sim-3", "temp": 20},      # wrong prefix
        {"device": "dev-4"},                  # no temp
        {"device": "dev-5", "temp": 30},      # the range's upper bound
    )]

    # WHEN the records arrive
    sequence_numbers = harness.put(stream, payloads)
    harness.start()
    harness.advance(2)

    # THEN only the matching records are delivered, in one batch
    assert [json.loads(p)["device"] for p in _delivered(harness, "sink")] == ["dev-1", "dev-5"]
    assert len(harness.seen("sink")) == 1
    # AND the checkpoint is past every record, the dropped ones included
    (consumer,) = harness.engine.consumers()
    assert consumer.checkpoint == sequence_numbers[-1]
    assert consumer.buffer == []


def test_filters_are_ored_and_anything_but_excludes(harness: Harness) -> None:
    # GIVEN two filters: alerts, or readings from any site but "lab"
    stream = _kinesis(harness, {"data": {"kind": ["alert"]}},
                      {"data": {"kind": ["reading"], "site": [{"anything-but": ["lab"]}]}})

    # WHEN an alert, a lab reading, a field reading and a heartbeat arrive
    harness.put(stream, [json.dumps(p) for p in (
        {"kind": "alert", "site": "lab"}, {"kind": "reading", "site": "lab"},
        {"kind": "reading", "site": "field"}, {"kind": "heartbeat", "site": "field"})])
    harness.start()
    harness.advance(2)

    # THEN the alert and the field reading are delivered
    assert [json.loads(p) for p in _delivered(harness, "sink")] == [
        {"kind": "alert", "site": "lab"}, {"kind": "reading", "site": "field"}]


def test_a_kinesis_record_that_is_not_json_never_matches_a_data_pattern(
        harness: Harness) -> None:
    # GIVEN a mapping filtering on data, even on a field that must not exist
    stream = _kinesis(harness, {"data": {"debug": [{"exists": False}]}})

    # WHEN a plain-text record and a JSON record arrive
    sequence_numbers = harness.put(stream, ["plain text", json.dumps({"v": 1})])
    harness.start()
    harness.advance(2)

    # THEN only the JSON record is delivered; the other is dropped and checkpointed past
    assert _delivered(harness, "sink") == [json.dumps({"v": 1})]
    (consumer,) = harness.engine.consumers()
    assert consumer.checkpoint == sequence_numbers[-1]


def test_a_batch_that_is_entirely_filtered_invokes_nothing(harness: Harness) -> None:
    # GIVEN a mapping that wants alerts only
    stream = _kinesis(harness, {"data": {"kind": ["alert"]}})

    # WHEN only readings arrive
    sequence_numbers = harness.put(stream, [json.dumps({"kind": "reading"})] * 3)
    harness.start()
    harness.advance(3)

    # THEN the function never runs and the shard is checkpointed to its tip
    assert harness.seen("sink") == []
    assert not harness.engine.invocation_log
    (consumer,) = harness.engine.consumers()
    assert consumer.checkpoint == sequence_numbers[-1]


def test_changed_filter_criteria_apply_to_records_read_after_the_change(
        harness: Harness) -> None:
    # GIVEN a running mapping that wants alerts only
    stream = _kinesis(harness, {"data": {"kind": ["alert"]}})
    harness.start()
    harness.put(stream, [json.dumps({"kind": "reading", "n": 1})])
    harness.advance(1)

    # WHEN its criteria are removed (an empty FilterCriteria) and a reading arrives
    (mapping,) = harness.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    harness.client("lambda").update_event_source_mapping(UUID=mapping["UUID"],
                                                         FilterCriteria={})
    harness.advance(2.5)
    harness.put(stream, [json.dumps({"kind": "reading", "n": 2})])
    harness.advance(1)

    # THEN the new reading is delivered, the one dropped before the change is not
    assert [json.loads(p)["n"] for p in _delivered(harness, "sink")] == [2]


def test_dynamodb_records_are_filtered_on_event_name_and_new_image(harness: Harness) -> None:
    # GIVEN a table streaming new images and a mapping wanting inserted or modified
    # items whose kind is "partial"
    harness.clock.advance_to(T0)
    stream = harness.table_with_stream("aggregates", view_type="NEW_IMAGE")
    harness.function("sink", RECORD)
    harness.map(stream, "sink", BatchSize=100, FilterCriteria=_criteria(
        {"eventName": ["INSERT", "MODIFY"],
         "dynamodb": {"NewImage": {"kind": {"S": ["partial"]}}}}))
    dynamodb = harness.client("dynamodb")

    # WHEN a partial is inserted and modified, a total is written, the partial removed
    for key, kind, value in (("p1", "partial", "1"), ("t1", "total", "9"),
                             ("p1", "partial", "2")):
        dynamodb.put_item(TableName="aggregates",
                          Item={"pk": {"S": key}, "kind": {"S": kind}, "v": {"S": value}})
    dynamodb.delete_item(TableName="aggregates", Key={"pk": {"S": "p1"}})
    harness.start()
    harness.advance(2)

    # THEN only the partial's INSERT and MODIFY reach the function
    changes = [(r["eventName"], r["dynamodb"]["NewImage"]["v"]["S"])
               for event in harness.seen("sink") for r in event["Records"]]
    assert changes == [("INSERT", "1"), ("MODIFY", "2")]
    (consumer,) = harness.engine.consumers()
    assert consumer.buffer == [] and consumer.checkpoint is not None


def test_sqs_messages_that_match_no_filter_are_deleted_without_an_invocation(
        harness: Harness) -> None:
    # GIVEN a queue mapped with a filter on the JSON body
    queue_url, queue_arn = harness.queue("alerts")
    harness.function("sink", RECORD)
    harness.map_queue(queue_arn, "sink", BatchSize=10, FilterCriteria=_criteria(
        {"body": {"severity": ["critical", "major"]}}))

    # WHEN a critical, a minor and a plain-text message are sent
    harness.send(queue_url, [json.dumps({"severity": "critical"}),
                             json.dumps({"severity": "minor"}), "severity=major"])
    harness.start()
    harness.advance(2)

    # THEN only the critical message is delivered, and the queue is empty
    bodies = [r["body"] for event in harness.seen("sink") for r in event["Records"]]
    assert bodies == [json.dumps({"severity": "critical"})]
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}


def test_a_plain_sqs_body_matches_a_plain_string_rule(harness: Harness) -> None:
    # GIVEN a filter on the body as a plain string
    queue_url, queue_arn = harness.queue("commands")
    harness.function("sink", RECORD)
    harness.map_queue(queue_arn, "sink", FilterCriteria=_criteria({"body": ["restart"]}))

    # WHEN the plain string, another string and the same word as JSON are sent
    harness.send(queue_url, ["restart", "stop", json.dumps({"body": "restart"})])
    harness.start()
    harness.advance(2)

    # THEN only the plain "restart" is delivered
    bodies = [r["body"] for event in harness.seen("sink") for r in event["Records"]]
    assert bodies == ["restart"]
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}


@pytest.mark.parametrize("criteria", [
    {"Filters": [{"Pattern": "not json"}]},
    {"Filters": [{"Pattern": json.dumps({"data": {"kind": "alert"}})}]},
    {"Filters": [{"Pattern": json.dumps({"data": ["plain"]})}]},
    {"Filters": [{"Pattern": json.dumps({"data": {"kind": [{"wildcard": "a*"}]}})}]},
    {"Filters": [{"Pattern": json.dumps({"data": {"n": [str(i)]}})} for i in range(6)]},
])
def test_invalid_filter_criteria_are_refused(harness: Harness,
                                             criteria: dict[str, Any]) -> None:
    # GIVEN a stream and a function
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)

    # WHEN a mapping is created with malformed criteria THEN Lambda's error is returned
    with pytest.raises(ClientError) as refused:
        harness.map(stream, "sink", FilterCriteria=criteria)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert harness.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []


def test_an_update_with_invalid_criteria_is_refused_and_changes_nothing(
        harness: Harness) -> None:
    # GIVEN a mapping with a valid filter
    stream = harness.stream("telemetry")
    harness.function("sink", RECORD)
    valid = _criteria({"data": {"kind": ["alert"]}})
    uuid = harness.map(stream, "sink", FilterCriteria=valid)
    lambda_api = harness.client("lambda")

    # WHEN it is updated with a malformed pattern THEN the update is refused
    with pytest.raises(ClientError) as refused:
        lambda_api.update_event_source_mapping(
            UUID=uuid, FilterCriteria={"Filters": [{"Pattern": "{"}]})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    # AND the mapping keeps its criteria
    assert lambda_api.get_event_source_mapping(UUID=uuid)["FilterCriteria"] == valid
