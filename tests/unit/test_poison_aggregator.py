"""The test-only poison wrapper answers as the aggregator does when processing raises at a
record: a partial-batch response after records it could fold, a function error at the
head of a batch or when the invocation closes its window."""

from __future__ import annotations

import pytest

from lambdas.aggregator import handler as aggregator_handler
from tests.factories.aggregator_env import aggregator_tables
from tests.factories.kinesis import KinesisShard, lambda_context, tumbling_window_event
from tests.factories.telemetry import device_series, telemetry_json
from tests.support import poison_aggregator
from tests.support.poison_aggregator import PoisonedRecord, poisoned

POISON = "dev-poison"
handle = aggregator_handler.lambda_handler


@pytest.fixture(autouse=True)
def tables(monkeypatch: pytest.MonkeyPatch):
    with aggregator_tables(monkeypatch) as client:
        yield client


def sequence_numbers(records):
    return [record["kinesis"]["sequenceNumber"] for record in records]


def failed_ids(response):
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def batch_with_poison_at(index: int, size: int = 5):
    shard = KinesisShard()
    payloads = device_series("dev-1", size)
    payloads[index] = device_series(POISON, 1)[0]
    return shard.records(payloads)


def test_a_poisoned_record_in_the_middle_fails_it_and_every_later_record():
    # GIVEN a batch whose third record is a poisoned device's
    records = batch_with_poison_at(2)

    # WHEN the wrapped handler runs it
    response = poisoned(handle, {POISON})(tumbling_window_event(records), lambda_context())

    # THEN the state holds the two records before it, and it and the rest are reported
    assert response["state"]["aggregated"] == 2
    assert response["state"]["last_seq"] == sequence_numbers(records)[1]
    assert failed_ids(response) == sequence_numbers(records)[2:]


def test_a_poisoned_record_at_the_head_fails_the_invocation():
    # GIVEN a batch that starts with a poisoned device's record
    records = batch_with_poison_at(0)

    # WHEN / THEN the invocation fails, as BatchHeadFailed does, so Lambda bisects
    with pytest.raises(PoisonedRecord, match=sequence_numbers(records)[0]):
        poisoned(handle, {POISON})(tumbling_window_event(records), lambda_context())


def test_a_poisoned_record_in_a_closing_invocation_fails_the_invocation():
    # GIVEN a window's final invoke with a poisoned record after valid ones
    event = tumbling_window_event(batch_with_poison_at(3), is_final=True)

    # WHEN / THEN the invocation fails (nothing is flushed for the retry to overwrite)
    with pytest.raises(PoisonedRecord):
        poisoned(handle, {POISON})(event, lambda_context())


def test_without_poisoned_records_the_answer_is_the_aggregators():
    # GIVEN a batch of other devices, and an invalid record (unknown version) of the
    # poisoned device
    invalid = {**telemetry_json(device_id=POISON), "v": 9}
    records = KinesisShard().records([*device_series("dev-1", 3), invalid])
    event = tumbling_window_event(records)

    # WHEN the wrapped and the plain handler run it
    wrapped = poisoned(handle, {POISON})(event, lambda_context())
    plain = handle(event, lambda_context())

    # THEN the answers are the same: an invalid record is quarantined, never poison
    assert wrapped == plain
    assert wrapped["batchItemFailures"] == [] and wrapped["state"]["quarantined"] == 1


def test_the_deployed_wrapper_reads_the_poisoned_devices_from_its_environment(monkeypatch):
    # GIVEN the wrapper deployed with two poisoned devices in its environment
    monkeypatch.setenv(poison_aggregator.POISON_DEVICES_VARIABLE, f" dev-other , {POISON}")
    records = batch_with_poison_at(1)

    # WHEN it runs a batch with one of them
    response = poison_aggregator.lambda_handler(tumbling_window_event(records),
                                                lambda_context())

    # THEN that device's record fails
    assert failed_ids(response) == sequence_numbers(records)[1:]
