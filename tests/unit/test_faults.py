"""Fault injection on a real boto3 client: failed records are really not written."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.faults import PutRecordsFaults, inject_put_records_failures
from tests.unit.test_producer_support import kinesis_stream, stream_contents


@pytest.fixture
def kinesis() -> Any:
    with kinesis_stream(shards=2) as (client, _stream):
        yield client


def put(client: Any, count: int, prefix: str = "r") -> dict[str, Any]:
    records = [
        {"PartitionKey": f"dev-{i % 7}", "Data": f"{prefix}{i}".encode()} for i in range(count)
    ]
    return client.put_records(StreamName="telemetry", Records=records)


def failed_positions(response: dict[str, Any]) -> list[int]:
    return [i for i, entry in enumerate(response["Records"]) if "ErrorCode" in entry]


def test_failed_records_are_reported_in_place_and_not_written(kinesis: Any) -> None:
    # GIVEN 30% of records failing
    faults = inject_put_records_failures(kinesis, failure_rate=0.3, seed=1)
    # WHEN 100 records are put
    response = put(kinesis, 100)
    # THEN the response looks like AWS's: failures in place, with code and message only
    failed = failed_positions(response)
    assert response["FailedRecordCount"] == len(failed) == faults.failed_records
    assert 15 < len(failed) < 45
    for i in failed:
        entry = response["Records"][i]
        assert entry["ErrorCode"] == "ProvisionedThroughputExceededException"
        assert "Rate exceeded" in entry["ErrorMessage"] and "SequenceNumber" not in entry
    assert all("SequenceNumber" in response["Records"][i] for i in range(100) if i not in failed)
    # AND the stream holds exactly the records reported as written
    written = {r.data for r in stream_contents(kinesis)}
    assert written == {f"r{i}".encode() for i in range(100) if i not in failed}


def test_sequence_numbers_returned_match_the_stream(kinesis: Any) -> None:
    # GIVEN failures injected
    inject_put_records_failures(kinesis, failure_rate=0.5, seed=4)
    # WHEN records are put
    response = put(kinesis, 20)
    # THEN each success entry points at its own record in the stream
    by_position = {
        (entry["ShardId"], entry["SequenceNumber"]): f"r{i}".encode()
        for i, entry in enumerate(response["Records"])
        if "SequenceNumber" in entry
    }
    stored = {(r.shard_id, r.sequence_number): r.data for r in stream_contents(kinesis)}
    assert stored == by_position


def test_throttled_calls_raise_without_reaching_the_stream(kinesis: Any) -> None:
    # GIVEN the first two calls throttled
    faults = inject_put_records_failures(kinesis, failure_rate=0.0, throttle_calls=2)
    # WHEN three calls are made
    # THEN the first two raise the modelled throttling error and write nothing
    for _ in range(2):
        with pytest.raises(kinesis.exceptions.ProvisionedThroughputExceededException):
            put(kinesis, 5)
    assert stream_contents(kinesis) == []
    # AND the third goes through
    assert put(kinesis, 5)["FailedRecordCount"] == 0
    assert (faults.calls, faults.throttled_calls, len(stream_contents(kinesis))) == (3, 2, 5)


def test_a_call_where_every_record_fails_sends_nothing(kinesis: Any) -> None:
    # GIVEN every record failing
    inject_put_records_failures(kinesis, failure_rate=1.0, error_code="InternalFailure")
    # WHEN records are put
    response = put(kinesis, 4)
    # THEN all four are reported failed, none is written, and no exception is raised
    assert response["FailedRecordCount"] == 4
    assert {e["ErrorMessage"] for e in response["Records"]} == {
        "Internal Service Failure (injected fault)."
    }
    assert stream_contents(kinesis) == []


def test_the_same_seed_fails_the_same_positions() -> None:
    # GIVEN two independent embedded AWS instances with injectors of the same seed
    outcomes = []
    for _ in range(2):
        with kinesis_stream() as (client, _stream):
            inject_put_records_failures(client, failure_rate=0.4, seed=77)
            # WHEN the same calls are made
            outcomes.append([failed_positions(put(client, 50)) for _ in range(3)])
    # THEN the same records fail
    assert outcomes[0] == outcomes[1]


def test_error_codes_can_be_mixed_and_are_counted(kinesis: Any) -> None:
    # GIVEN failures drawn from two codes
    codes = ["InternalFailure", "KMSThrottlingException"]
    faults = inject_put_records_failures(kinesis, failure_rate=0.6, seed=3, error_code=codes)
    # WHEN records are put
    response = put(kinesis, 60)
    # THEN both codes occur and the counters match the response
    seen = [e["ErrorCode"] for e in response["Records"] if "ErrorCode" in e]
    assert set(seen) == set(codes)
    assert sum(faults.failures_by_code.values()) == len(seen) == faults.failed_records
    assert faults.records_seen == 60


def test_removing_the_injector_restores_normal_behaviour(kinesis: Any) -> None:
    # GIVEN an injector used as a context manager
    with PutRecordsFaults(kinesis, failure_rate=1.0) as faults:
        assert put(kinesis, 3)["FailedRecordCount"] == 3
    # WHEN the block is left
    # THEN calls succeed again and the injector saw no more calls
    assert not faults.installed
    assert put(kinesis, 3, prefix="after")["FailedRecordCount"] == 0
    assert faults.calls == 1
    assert len(stream_contents(kinesis)) == 3


def test_other_operations_are_untouched(kinesis: Any) -> None:
    # GIVEN an injector that fails everything
    inject_put_records_failures(kinesis, failure_rate=1.0, throttle_calls=5)
    # WHEN a single PutRecord is made
    # THEN it is written normally
    kinesis.put_record(StreamName="telemetry", PartitionKey="dev-1", Data=b"single")
    assert [r.data for r in stream_contents(kinesis)] == [b"single"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"failure_rate": 1.5}, "failure_rate must be between 0 and 1"),
        ({"failure_rate": 0.1, "error_code": "Oops"}, "per-record codes, got \\['Oops'\\]"),
        ({"failure_rate": 0.1, "error_code": []}, "per-record codes, got none"),
        ({"failure_rate": 0.1, "throttle_calls": -1}, "throttle_calls must be >= 0"),
    ],
)
def test_invalid_settings_are_rejected(
    kinesis: Any, options: dict[str, Any], message: str
) -> None:
    # GIVEN / WHEN an impossible setting / THEN a clear ValueError, nothing installed
    with pytest.raises(ValueError, match=message):
        inject_put_records_failures(kinesis, **options)
    assert put(kinesis, 2)["FailedRecordCount"] == 0


def test_throttle_errors_are_client_errors_with_aws_shape(kinesis: Any) -> None:
    # GIVEN one throttled call
    inject_put_records_failures(
        kinesis, failure_rate=0.0, throttle_calls=1, throttle_error_code="LimitExceededException"
    )
    # WHEN it is made
    with pytest.raises(ClientError) as caught:
        put(kinesis, 1)
    # THEN it carries the code and an HTTP 400, like the service's own error
    assert caught.value.response["Error"]["Code"] == "LimitExceededException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
