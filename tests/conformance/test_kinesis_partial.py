"""Kinesis mappings with FunctionResponseTypes=ReportBatchItemFailures
(AWS-SEMANTICS.md, "Lambda event source mappings for streams")."""

from __future__ import annotations

import json

import pytest

from tests.conformance.harness import Harness, decode

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z: virtual time runs from a round second

# The handler's response on its first call comes from the environment (a JSON template
# in which "SEQ:<payload>" stands for that record's sequence number); later calls succeed.
RESPOND_ONCE = """
calls = []

def lambda_handler(event, context):
    seen(event)
    calls.append(1)
    if len(calls) > 1:
        return {"batchItemFailures": []}
    by_payload = dict(zip(payloads(event), sequence_numbers(event)))
    template = os.environ["FIRST_RESPONSE"]
    for payload, sequence_number in by_payload.items():
        template = template.replace(f'"SEQ:{payload}"', json.dumps(sequence_number))
    return json.loads(template)
"""


def _batches(harness: Harness, function: str) -> list[list[str]]:
    return [[decode(r) for r in event["Records"]] for event in harness.seen(function)]


def _run(harness: Harness, first_response: object, records: list[str], **settings: object
         ) -> tuple[list[list[str]], str]:
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    queue_url, queue_arn = harness.queue("failures")
    harness.function("partial", RESPOND_ONCE,
                     environment={"FIRST_RESPONSE": json.dumps(first_response)})
    harness.map(stream, "partial", FunctionResponseTypes=["ReportBatchItemFailures"],
                DestinationConfig={"OnFailure": {"Destination": queue_arn}}, **settings)
    harness.put(stream, records)
    harness.start()
    harness.advance(1.5)
    return _batches(harness, "partial"), queue_url


def test_checkpoint_before_the_lowest_failure_and_retry_from_it(harness: Harness) -> None:
    # GIVEN a batch of 5 whose handler reports records 4 and 2 (in that order) failed
    response = {"batchItemFailures": [{"itemIdentifier": "SEQ:4"}, {"itemIdentifier": "SEQ:2"}]}

    # WHEN the engine runs
    batches, queue_url = _run(harness, response, ["1", "2", "3", "4", "5"], BatchSize=5)

    # THEN record 1 is checkpointed and the retry starts at the lowest failure, 2
    assert batches == [["1", "2", "3", "4", "5"], ["2", "3", "4", "5"]]
    assert harness.messages(queue_url) == []


@pytest.mark.parametrize("response", [
    {"batchItemFailures": []},
    {"batchItemFailures": None},
    {},
    None,
], ids=["empty-list", "null-list", "empty-response", "null-response"])
def test_responses_that_mean_success(harness: Harness, response: object) -> None:
    # GIVEN a handler whose first response reports no failure in one of the ways AWS
    # accepts
    # WHEN the engine runs
    batches, _ = _run(harness, response, ["1", "2", "3"], BatchSize=3)

    # THEN the batch is done: no retry
    assert batches == [["1", "2", "3"]]


@pytest.mark.parametrize("response", [
    {"batchItemFailures": [{"itemIdentifier": ""}]},
    {"batchItemFailures": [{"itemIdentifier": None}]},
    {"batchItemFailures": [{"itemId": "SEQ:2"}]},
    {"batchItemFailures": [{"itemIdentifier": "49999999999999999999"}]},
], ids=["empty-string", "null-identifier", "wrong-key", "unknown-identifier"])
def test_malformed_failure_reports_fail_the_whole_batch(harness: Harness,
                                                         response: object) -> None:
    """A malformed report is no function error: the batch is retried whole (not
    bisected, even with bisect on), and the destination's functionError is null."""
    # GIVEN a handler whose first response names a failed item wrongly, bisect on
    # WHEN the engine runs
    batches, queue_url = _run(harness, response, ["1", "2", "3"], BatchSize=3,
                              BisectBatchOnFunctionError=True)

    # THEN the whole batch is retried, records 1 and 2 included
    assert batches == [["1", "2", "3"], ["1", "2", "3"]]
    assert harness.messages(queue_url) == []


def test_with_bisect_the_retry_starts_at_the_returned_sequence_number(
        harness: Harness) -> None:
    """Bisect splits at the reported record, it does not halve the batch."""
    # GIVEN bisect on and a handler that reports record 3 of 4 failed once
    response = {"batchItemFailures": [{"itemIdentifier": "SEQ:3"}]}

    # WHEN the engine runs
    batches, _ = _run(harness, response, ["1", "2", "3", "4"], BatchSize=4,
                      BisectBatchOnFunctionError=True)

    # THEN the retry is the rest of the batch from record 3, not the halves
    assert batches == [["1", "2", "3", "4"], ["3", "4"]]


RAISE_ONCE_ON_3 = """
raised = []

def lambda_handler(event, context):
    seen(event)
    if "3" in payloads(event) and not raised:
        raised.append(1)
        raise RuntimeError("record 3")
    return {"batchItemFailures": []}
"""


def test_a_function_error_bisects_regardless_of_report_batch_item_failures(
        harness: Harness) -> None:
    # GIVEN ReportBatchItemFailures and bisect, and a handler that raises once
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    harness.function("raiser", RAISE_ONCE_ON_3)
    harness.map(stream, "raiser", BatchSize=4, BisectBatchOnFunctionError=True,
                FunctionResponseTypes=["ReportBatchItemFailures"])
    harness.put(stream, ["1", "2", "3", "4"])

    # WHEN the engine runs
    harness.start()
    harness.advance(3)

    # THEN the failed batch was split in halves
    assert _batches(harness, "raiser") == [["1", "2", "3", "4"], ["1", "2"], ["3", "4"]]
