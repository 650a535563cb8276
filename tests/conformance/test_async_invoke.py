"""Asynchronous invocation (AWS-SEMANTICS.md, "Lambda invocation"): the event queue, two
retries a minute and two minutes apart, maximum event age, the invocation record sent to
on-success / on-failure destinations (SQS, SNS, S3, Lambda, EventBridge), reserved
concurrency. Virtual time: minutes of retries take milliseconds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conformance.harness import Harness

T0 = datetime(2030, 6, 3, 12, 0, 0, 250_000, tzinfo=UTC).timestamp()

STORE = """
def lambda_handler(event, context):
    seen({"event": event, "requestId": context.aws_request_id})
    return {"stored": event["reading"], "padding": "x" * event.get("pad", 0)}
"""

FAILING = """
def lambda_handler(event, context):
    seen({"event": event, "requestId": context.aws_request_id})
    raise RuntimeError("sensor bus timeout")
"""

COLLECT = """
def lambda_handler(event, context):
    seen(event)
"""


def at(seconds_after_t0: float) -> str:
    moment = datetime.fromtimestamp(T0 + seconds_after_t0, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def started(harness: Harness) -> Harness:
    """Start at T0. These tests create no mappings and no rules after the start, so the
    engine need not rediscover every 2 s of the virtual minutes they cover."""
    harness.clock.current = T0
    harness.engine.discovery_interval_s = 3600
    harness.schedules.discovery_interval_s = 3600
    harness.start()
    return harness


def invoke_async(harness: Harness, function: str, payload: Any) -> dict[str, Any]:
    return harness.client("lambda").invoke(FunctionName=function, InvocationType="Event",
                                           Payload=json.dumps(payload))


def configure_async(harness: Harness, function: str, *, on_success: str | None = None,
                    on_failure: str | None = None, **limits: int) -> None:
    """PutFunctionEventInvokeConfig: destinations plus MaximumRetryAttempts /
    MaximumEventAgeInSeconds."""
    destination_config = {condition: {"Destination": arn} for condition, arn in
                          (("OnSuccess", on_success), ("OnFailure", on_failure)) if arn}
    harness.client("lambda").put_function_event_invoke_config(
        FunctionName=function, DestinationConfig=destination_config, **limits)


def error_document(record: dict[str, Any]) -> dict[str, Any]:
    """The record's responsePayload with its stack trace checked and removed."""
    payload = dict(record["responsePayload"])
    (frame,) = payload.pop("stackTrace")
    assert frame.endswith('    raise RuntimeError("sensor bus timeout")\n')
    return payload


def test_an_event_is_accepted_at_once_run_from_the_queue_and_its_success_recorded(
        harness: Harness) -> None:
    # GIVEN a function with an on-success destination
    queue_url, queue_arn = harness.queue("successes")
    function_arn = harness.function("store", STORE)
    configure_async(harness, "store", on_success=queue_arn)
    started(harness)

    # WHEN it is invoked asynchronously
    response = invoke_async(harness, "store", {"reading": 21.5})

    # THEN Lambda answers 202 with no payload before the handler has run
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert harness.seen("store") == []

    # AND the queue runs it once, and the destination gets the invocation record
    harness.advance(600)
    (call,) = harness.seen("store")
    assert call["event"] == {"reading": 21.5}
    assert harness.messages(queue_url) == [{
        "version": "1.0",
        "timestamp": at(0),
        "requestContext": {"requestId": call["requestId"],
                           "functionArn": f"{function_arn}:$LATEST",
                           "condition": "Success", "approximateInvokeCount": 1},
        "requestPayload": {"reading": 21.5},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": {"stored": 21.5, "padding": ""},
    }]
    (logged,) = harness.invocations("store")
    assert (logged.invocation_type, logged.outcome, logged.attempt, logged.at) == (
        "Event", "ok", 1, T0)


@pytest.mark.parametrize(("retries", "attempt_offsets"), [
    (None, [0, 60, 180]),  # default: 2 retries, 1 minute then 2 minutes apart
    (1, [0, 60]),
    (0, [0]),
])
def test_a_function_error_is_retried_then_sent_to_the_on_failure_destination(
        harness: Harness, retries: int | None, attempt_offsets: list[int]) -> None:
    # GIVEN a function that always fails, MaximumRetryAttempts as given, an on-failure queue
    queue_url, queue_arn = harness.queue("failures")
    function_arn = harness.function("failing", FAILING)
    limits = {} if retries is None else {"MaximumRetryAttempts": retries}
    configure_async(harness, "failing", on_failure=queue_arn, **limits)
    started(harness)

    # WHEN one event is invoked asynchronously and ten minutes pass
    invoke_async(harness, "failing", {"reading": -1})
    harness.advance(600)

    # THEN the handler ran at the documented times, with one request ID throughout
    attempts = harness.invocations("failing")
    assert [(a.at - T0, a.attempt, a.outcome) for a in attempts] == [
        (offset, n, "error") for n, offset in enumerate(attempt_offsets, start=1)]
    request_ids = {call["requestId"] for call in harness.seen("failing")}
    assert request_ids == {attempts[0].request_id}

    # AND the on-failure destination got one record for the last attempt
    (record,) = harness.messages(queue_url)
    assert error_document(record) == {"errorMessage": "sensor bus timeout",
                                      "errorType": "RuntimeError",
                                      "requestId": attempts[0].request_id}
    del record["responsePayload"]
    assert record == {
        "version": "1.0",
        "timestamp": at(attempt_offsets[-1]),
        "requestContext": {"requestId": attempts[0].request_id,
                           "functionArn": f"{function_arn}:$LATEST",
                           "condition": "RetriesExhausted",
                           "approximateInvokeCount": len(attempt_offsets)},
        "requestPayload": {"reading": -1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            "functionError": "Unhandled"},
    }


def test_an_event_older_than_the_maximum_event_age_is_discarded(harness: Harness) -> None:
    # GIVEN a failing function whose events may wait 100 s at most
    queue_url, queue_arn = harness.queue("failures")
    harness.function("failing", FAILING)
    configure_async(harness, "failing", on_failure=queue_arn, MaximumEventAgeInSeconds=100)
    started(harness)

    # WHEN an event fails at 0 s and at its first retry (60 s); its second retry would be
    # at 180 s
    invoke_async(harness, "failing", {"reading": -1})
    harness.advance(600)

    # THEN it is discarded when it reaches 100 s, with condition EventAgeExceeded
    assert [a.at - T0 for a in harness.invocations("failing")] == [0, 60]
    (record,) = harness.messages(queue_url)
    assert record["timestamp"] == at(100)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"


def test_an_sns_destination_gets_the_record_without_payloads_over_256_kb(
        harness: Harness) -> None:
    # GIVEN an on-success SNS topic, delivered raw to a queue
    queue_url, queue_arn = harness.queue("via-sns")
    topic_arn = harness.topic("results")
    harness.subscribe(topic_arn, queue_arn)
    harness.function("store", STORE)
    configure_async(harness, "store", on_success=topic_arn)
    started(harness)

    # WHEN one small response and one of 300 KB are produced
    invoke_async(harness, "store", {"reading": 1})
    invoke_async(harness, "store", {"reading": 2, "pad": 300 * 1024})
    harness.advance(1)

    # THEN the small record is whole, the large one keeps only its metadata
    small, large = harness.messages(queue_url)
    assert small["requestPayload"] == {"reading": 1}
    assert small["responsePayload"] == {"stored": 1, "padding": ""}
    assert set(large) == {"version", "timestamp", "requestContext", "responseContext"}
    assert large["requestContext"]["condition"] == "Success"



def test_an_sns_record_keeps_payloads_that_fit_together_and_may_then_fail_to_deliver(
        harness: Harness) -> None:
    """AWS drops the payloads when the request and response payloads *together* pass
    256 KB; a record whose payloads fit but whose whole message does not is refused by
    SNS: a delivery failure (DestinationDeliveryFailures), no message."""
    # GIVEN an on-success SNS topic, delivered raw to a queue
    queue_url, queue_arn = harness.queue("via-sns")
    topic_arn = harness.topic("results")
    harness.subscribe(topic_arn, queue_arn)
    harness.function("store", STORE)
    configure_async(harness, "store", on_success=topic_arn)
    started(harness)

    # WHEN the payloads take 150 KB + 150 KB, then 256 KB less 200 bytes together
    invoke_async(harness, "store", {"reading": 1, "blob": "x" * (150 * 1024),
                                    "pad": 150 * 1024})
    invoke_async(harness, "store", {"reading": 2, "pad": 256 * 1024 - 200})
    harness.advance(1)

    # THEN the first record went without both payloads; the second could not be sent
    (first,) = harness.messages(queue_url)
    assert set(first) == {"version", "timestamp", "requestContext", "responseContext"}
    assert harness.invoker.destination_failures == 1


def test_an_s3_destination_stores_the_failure_record_under_the_async_key(
        harness: Harness) -> None:
    """S3 is an on-failure destination only: the record is a JSON object under
    aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>."""
    # GIVEN a failing function, no retries, a bucket on failure (and on success, which
    # AWS does not allow: nothing is stored for it)
    s3 = harness.client("s3")
    s3.create_bucket(Bucket="async-failures")
    function_arn = harness.function("failing", FAILING)
    configure_async(harness, "failing", on_failure="arn:aws:s3:::async-failures",
                    MaximumRetryAttempts=0)
    harness.function("store", STORE)
    configure_async(harness, "store", on_success="arn:aws:s3:::async-failures")
    started(harness)

    # WHEN an event fails and another succeeds
    invoke_async(harness, "failing", {"reading": -1})
    invoke_async(harness, "store", {"reading": 1})
    harness.advance(1)

    # THEN one object, named as documented, holds the invocation record
    (item,) = s3.list_objects_v2(Bucket="async-failures")["Contents"]
    prefix = "aws/lambda/async/failing/2030/06/03/2030-06-03T12.00.00-"
    assert item["Key"].startswith(prefix) and len(item["Key"]) == len(prefix) + 36
    record = json.loads(s3.get_object(Bucket="async-failures", Key=item["Key"])["Body"].read())
    (attempt,) = harness.invocations("failing")
    assert error_document(record)["errorType"] == "RuntimeError"
    del record["responsePayload"]
    assert record == {
        "version": "1.0",
        "timestamp": at(0),
        "requestContext": {"requestId": attempt.request_id,
                           "functionArn": f"{function_arn}:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 1},
        "requestPayload": {"reading": -1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            "functionError": "Unhandled"},
    }
    assert harness.invoker.destination_failures == 1  # the on-success bucket

def test_a_lambda_destination_receives_the_record_as_an_async_event(harness: Harness) -> None:
    # GIVEN a failing function, no retries, whose on-failure destination is a function
    failing_arn = harness.function("failing", FAILING)
    collector_arn = harness.function("collector", COLLECT)
    configure_async(harness, "failing", on_failure=collector_arn, MaximumRetryAttempts=0)
    started(harness)

    # WHEN an event fails
    invoke_async(harness, "failing", {"reading": -1})
    harness.advance(1)

    # THEN the collector is invoked asynchronously with the invocation record as its event
    (record,) = harness.seen("collector")
    assert record["requestContext"]["functionArn"] == f"{failing_arn}:$LATEST"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"reading": -1}
    (logged,) = harness.invocations("collector")
    assert (logged.invocation_type, logged.trigger) == ("Event", f"destination:{failing_arn}")


def test_an_eventbridge_destination_gets_a_lambda_result_event(harness: Harness) -> None:
    # GIVEN an on-success event bus whose rule forwards Lambda results to a queue
    queue_url, queue_arn = harness.queue("bus-results")
    events = harness.client("events")
    bus_arn = events.create_event_bus(Name="results")["EventBusArn"]
    events.put_rule(Name="lambda-results", EventBusName="results",
                    EventPattern=json.dumps({"source": ["lambda"]}))
    events.put_targets(Rule="lambda-results", EventBusName="results",
                       Targets=[{"Id": "queue", "Arn": queue_arn}])
    function_arn = harness.function("store", STORE)
    configure_async(harness, "store", on_success=bus_arn)
    started(harness)

    # WHEN an event succeeds
    invoke_async(harness, "store", {"reading": 3})
    harness.advance(1)

    # THEN the bus got PutEvents with source lambda and the record as detail
    (event,) = harness.messages(queue_url)
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Success"
    assert event["resources"] == [f"{function_arn}:$LATEST", bus_arn]
    assert event["detail"]["requestContext"]["condition"] == "Success"
    assert event["detail"]["responsePayload"] == {"stored": 3, "padding": ""}


def test_reserved_concurrency_zero_sends_events_to_on_failure_without_invoking(
        harness: Harness) -> None:
    # GIVEN a function with reserved concurrency 0 and an on-failure queue
    queue_url, queue_arn = harness.queue("failures")
    function_arn = harness.function("store", STORE)
    configure_async(harness, "store", on_failure=queue_arn)
    harness.client("lambda").put_function_concurrency(FunctionName="store",
                                                      ReservedConcurrentExecutions=0)
    started(harness)

    # WHEN it is invoked asynchronously
    response = invoke_async(harness, "store", {"reading": 4})
    harness.advance(600)

    # THEN the event is accepted, never run, and goes to on-failure without retries
    assert response["StatusCode"] == 202
    assert harness.seen("store") == []
    assert [a.outcome for a in harness.invocations("store")] == ["throttled"]
    (record,) = harness.messages(queue_url)
    assert record == {
        "version": "1.0",
        "timestamp": at(0),
        "requestContext": {"requestId": record["requestContext"]["requestId"],
                           "functionArn": f"{function_arn}:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 0},
        "requestPayload": {"reading": 4},
    }


def test_an_event_over_the_asynchronous_payload_limit_is_rejected(harness: Harness) -> None:
    # GIVEN a function
    harness.function("store", STORE)

    # WHEN an event of more than 1 MB is invoked asynchronously
    with pytest.raises(ClientError) as rejected:
        invoke_async(harness, "store", {"reading": 0, "blob": "x" * (1024 * 1024)})

    # THEN it is refused with RequestEntityTooLargeException and never queued
    assert rejected.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert harness.invoker.pending == 0


def test_a_replaced_event_invoke_config_applies_to_the_next_event(harness: Harness) -> None:
    # GIVEN a failing function first configured with 2 retries, then replaced with 0
    queue_url, queue_arn = harness.queue("failures")
    harness.function("failing", FAILING)
    configure_async(harness, "failing", on_failure=queue_arn)
    configure_async(harness, "failing", on_failure=queue_arn, MaximumRetryAttempts=0)
    started(harness)

    # WHEN an event fails
    invoke_async(harness, "failing", {"reading": -1})
    harness.advance(600)

    # THEN it was not retried
    assert len(harness.invocations("failing")) == 1
    (record,) = harness.messages(queue_url)
    assert record["requestContext"]["approximateInvokeCount"] == 1
