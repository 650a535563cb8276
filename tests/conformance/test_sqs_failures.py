"""SQS mappings under failures: the visibility timeout, ReportBatchItemFailures, the
queue's redrive policy, FIFO groups (AWS-SEMANTICS.md, "Lambda invocation": SQS trigger;
Lambda's SQS guide, "Handling errors" and "Implementing partial batch responses")."""

from __future__ import annotations

import json

import pytest

from shardline.local.sqs_records import SqsInvocation
from tests.conformance.harness import Harness

VISIBILITY_TIMEOUT_S = 4

FAILS_ON_FIRST_RECEIVE = """
def lambda_handler(event, context):
    seen(event)
    if event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1":
        raise ValueError("downstream unavailable")
    return {}
"""

ALWAYS_FAILS = """
def lambda_handler(event, context):
    seen(event)
    raise ValueError("poison")
"""


def sqs_invocations(harness: Harness) -> list[SqsInvocation]:
    return [i for i in harness.engine.invocation_log if isinstance(i, SqsInvocation)]


def bodies(event: dict) -> list[str]:
    return [record["body"] for record in event["Records"]]


def receive_counts(event: dict) -> list[str]:
    return [record["attributes"]["ApproximateReceiveCount"] for record in event["Records"]]


def message_ids(event: dict) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


def test_a_failed_batch_comes_back_after_the_visibility_timeout(harness: Harness) -> None:
    # GIVEN a queue with a 10 s visibility timeout and a function that fails once
    queue_url, queue_arn = harness.queue("commands",
                                         VisibilityTimeout=str(VISIBILITY_TIMEOUT_S))
    harness.function("flaky", FAILS_ON_FIRST_RECEIVE)
    harness.map_queue(queue_arn, "flaky")
    sent_ids = harness.send(queue_url, ["c-1", "c-2", "c-3"])
    started = harness.clock.now()

    # WHEN the first invocation fails and the timeout has not run out yet
    harness.start()
    harness.advance(VISIBILITY_TIMEOUT_S - 0.5)

    # THEN nothing was deleted and nothing was made visible early
    assert [bodies(event) for event in harness.seen("flaky")] == [["c-1", "c-2", "c-3"]]
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 3}

    # WHEN the visibility timeout runs out
    harness.advance(1)

    # THEN the same messages are retried, received a second time, and then deleted
    first, retry = harness.seen("flaky")
    assert message_ids(retry) == message_ids(first) == sent_ids
    assert receive_counts(retry) == ["2", "2", "2"]
    invocations = sqs_invocations(harness)
    assert [(i.outcome, i.error_type) for i in invocations] == [("error", "ValueError"),
                                                                ("ok", None)]
    assert invocations[0].failed_message_ids == tuple(sent_ids)
    assert invocations[1].at == pytest.approx(started + VISIBILITY_TIMEOUT_S, abs=0.01)
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}


def test_a_partial_batch_response_deletes_only_the_successes(harness: Harness) -> None:
    # GIVEN ReportBatchItemFailures and a function that reports c-2 and c-4 failed once
    queue_url, queue_arn = harness.queue("commands",
                                         VisibilityTimeout=str(VISIBILITY_TIMEOUT_S))
    harness.function("partial", """
def lambda_handler(event, context):
    seen(event)
    return {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"]
        if r["body"] in ("c-2", "c-4") and r["attributes"]["ApproximateReceiveCount"] == "1"
    ]}
""")
    harness.map_queue(queue_arn, "partial", FunctionResponseTypes=["ReportBatchItemFailures"])
    sent_ids = harness.send(queue_url, ["c-1", "c-2", "c-3", "c-4"])

    # WHEN the batch is invoked
    harness.start()
    harness.advance(1)

    # THEN the successes are deleted and the two failures wait out the visibility timeout
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 2}
    (invocation,) = sqs_invocations(harness)
    assert invocation.outcome == "partial"
    assert invocation.failed_message_ids == (sent_ids[1], sent_ids[3])

    # WHEN the timeout runs out
    harness.advance(VISIBILITY_TIMEOUT_S)

    # THEN only the failed messages are retried
    assert [bodies(event) for event in harness.seen("partial")] == [
        ["c-1", "c-2", "c-3", "c-4"], ["c-2", "c-4"]]
    assert message_ids(harness.seen("partial")[1]) == [sent_ids[1], sent_ids[3]]
    assert receive_counts(harness.seen("partial")[1]) == ["2", "2"]
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}


MALFORMED_FIRST_RESPONSES = """
def first_failures(event):
    queue = event["Records"][0]["eventSourceARN"].split(":")[-1]
    return {
        "empty-identifier": [{"itemIdentifier": ""}],
        "null-identifier": [{"itemIdentifier": None}],
        "wrong-key": [{"itemId": event["Records"][0]["messageId"]}],
        "unknown-message-id": [{"itemIdentifier": "4a0c4a49-0000-4000-8000-000000000000"}],
        "not-a-list": event["Records"][0]["messageId"],
    }[queue]

def lambda_handler(event, context):
    seen(event)
    if event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1":
        return {"batchItemFailures": first_failures(event)}
    return {"batchItemFailures": []}
"""


def test_a_malformed_batch_item_failure_fails_the_whole_batch(harness: Harness) -> None:
    # GIVEN one queue per malformed first response (named after it), each with 3 messages
    harness.function("malformed", MALFORMED_FIRST_RESPONSES)
    cases = ["empty-identifier", "null-identifier", "wrong-key", "unknown-message-id",
             "not-a-list"]
    queues = {}
    for case in cases:
        queue_url, queue_arn = harness.queue(case, VisibilityTimeout=str(VISIBILITY_TIMEOUT_S))
        harness.map_queue(queue_arn, "malformed",
                          FunctionResponseTypes=["ReportBatchItemFailures"])
        queues[case] = (queue_url, queue_arn, harness.send(queue_url, ["c-1", "c-2", "c-3"]))

    # WHEN each batch is invoked once
    harness.start()
    harness.advance(1)

    # THEN nothing was deleted
    for queue_url, _, _ in queues.values():
        assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 3}

    # WHEN the visibility timeout passes
    harness.advance(VISIBILITY_TIMEOUT_S)

    # THEN every whole batch came back, then succeeded
    for case, (queue_url, queue_arn, sent_ids) in queues.items():
        events = [e for e in harness.seen("malformed")
                  if e["Records"][0]["eventSourceARN"] == queue_arn]
        assert [message_ids(e) for e in events] == [sent_ids, sent_ids], case
        assert [i.outcome for i in sqs_invocations(harness) if i.queue_arn == queue_arn] \
            == ["invalid_response", "ok"], case
        assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}, case


def test_a_response_without_failures_is_a_success(harness: Harness) -> None:
    # GIVEN one queue per response that names no failure (queues named after them)
    harness.function("clean", """
def lambda_handler(event, context):
    seen(event)
    return {
        "empty-list": {"batchItemFailures": []},
        "null-list": {"batchItemFailures": None},
        "empty-response": {},
        "null-response": None,
    }[event["Records"][0]["eventSourceARN"].split(":")[-1]]
""")
    queues = {}
    for case in ["empty-list", "null-list", "empty-response", "null-response"]:
        queue_url, queue_arn = harness.queue(case, VisibilityTimeout=str(VISIBILITY_TIMEOUT_S))
        harness.map_queue(queue_arn, "clean", FunctionResponseTypes=["ReportBatchItemFailures"])
        harness.send(queue_url, ["c-1", "c-2"])
        queues[case] = (queue_url, queue_arn)

    # WHEN the batches are invoked and the visibility timeout passes
    harness.start()
    harness.advance(1 + VISIBILITY_TIMEOUT_S)

    # THEN every batch was deleted after one invocation
    for case, (queue_url, queue_arn) in queues.items():
        events = [e for e in harness.seen("clean")
                  if e["Records"][0]["eventSourceARN"] == queue_arn]
        assert [bodies(e) for e in events] == [["c-1", "c-2"]], case
        assert [i.outcome for i in sqs_invocations(harness) if i.queue_arn == queue_arn] \
            == ["ok"], case
        assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}, case


def test_messages_that_keep_failing_are_redriven_to_the_dead_letter_queue(
        harness: Harness) -> None:
    # GIVEN a queue whose redrive policy moves a message after 2 receives, and a function
    # that always fails
    dlq_url, dlq_arn = harness.queue("commands-dlq")
    queue_url, queue_arn = harness.queue(
        "commands", VisibilityTimeout=str(VISIBILITY_TIMEOUT_S),
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    harness.function("poison", ALWAYS_FAILS)
    harness.map_queue(queue_arn, "poison")
    sent_ids = harness.send(queue_url, ["c-1", "c-2"])
    started = harness.clock.now()

    # WHEN the engine runs through three visibility timeouts
    harness.start()
    harness.advance(3 * VISIBILITY_TIMEOUT_S + 1)

    # THEN the function saw the batch twice (receives 1 and 2), then SQS moved the
    # messages to the dead-letter queue on the next receive
    assert [receive_counts(event) for event in harness.seen("poison")] == [["1", "1"],
                                                                          ["2", "2"]]
    assert [i.at for i in sqs_invocations(harness)] == pytest.approx(
        [started, started + VISIBILITY_TIMEOUT_S], abs=0.01)
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}
    dead = harness.drain(dlq_url)
    assert [(m["MessageId"], m["Body"]) for m in dead] == list(zip(sent_ids, ["c-1", "c-2"],
                                                                   strict=True))


def test_a_fifo_queue_delivers_each_group_in_order(harness: Harness) -> None:
    # GIVEN a FIFO queue holding two interleaved message groups and BatchSize 2
    queue_url, queue_arn = harness.queue("orders.fifo", FifoQueue="true")
    harness.function("orders", """
def lambda_handler(event, context):
    seen(event)
    return {}
""")
    harness.map_queue(queue_arn, "orders", BatchSize=2)
    for body in ["A1", "B1", "A2", "B2", "A3"]:
        harness.send(queue_url, [body], MessageGroupId=body[0],
                     MessageDeduplicationId=body)

    # WHEN the engine runs
    harness.start()
    harness.advance(1)

    # THEN every group arrived in send order, with its FIFO attributes
    events = harness.seen("orders")
    assert [bodies(event) for event in events] == [["A1", "B1"], ["A2", "B2"], ["A3"]]
    (first, *_) = events[0]["Records"]
    assert first["attributes"]["MessageGroupId"] == "A"
    assert first["attributes"]["MessageDeduplicationId"] == "A1"
    assert first["attributes"]["SequenceNumber"].isdigit()
    assert first["eventSourceARN"] == queue_arn


def test_a_failed_fifo_message_blocks_the_rest_of_its_group(harness: Harness) -> None:
    # GIVEN a FIFO queue, ReportBatchItemFailures, and a function that fails A2 once,
    # reporting it and the rest of group A in the batch (as FIFO handlers must)
    queue_url, queue_arn = harness.queue("orders.fifo", FifoQueue="true",
                                         VisibilityTimeout=str(VISIBILITY_TIMEOUT_S))
    harness.function("orders", """
def lambda_handler(event, context):
    seen(event)
    failed, failures = set(), []
    for r in event["Records"]:
        group = r["attributes"]["MessageGroupId"]
        first_try = r["attributes"]["ApproximateReceiveCount"] == "1"
        if group in failed or (r["body"] == "A2" and first_try):
            failed.add(group)
            failures.append({"itemIdentifier": r["messageId"]})
    return {"batchItemFailures": failures}
""")
    harness.map_queue(queue_arn, "orders", BatchSize=2,
                      FunctionResponseTypes=["ReportBatchItemFailures"])
    for body in ["A1", "A2", "A3", "B1", "B2"]:
        harness.send(queue_url, [body], MessageGroupId=body[0],
                     MessageDeduplicationId=body)
    started = harness.clock.now()

    # WHEN the engine runs past the visibility timeout
    harness.start()
    harness.advance(VISIBILITY_TIMEOUT_S + 1)

    # THEN group B went on while A3 waited behind A2 until A2's retry
    delivered = [(round(i.at - started, 2), bodies(event))
                 for i, event in zip(sqs_invocations(harness), harness.seen("orders"),
                                     strict=True)]
    assert delivered == [
        (0, ["A1", "A2"]),
        (0, ["B1", "B2"]),
        (VISIBILITY_TIMEOUT_S, ["A2", "A3"]),
    ]
    assert harness.queue_counts(queue_url) == {"visible": 0, "in_flight": 0}
