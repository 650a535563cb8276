"""The pure parts of the local runtime's destinations: record formats, S3 keys, the SNS
payload rule (the conformance suite covers delivery end to end)."""

from __future__ import annotations

import re

import pytest

from shardline.local import destinations

T0 = 1_893_456_000.5678  # 2030-01-01T00:00:00.5678Z


def test_timestamps_have_milliseconds_or_whole_seconds() -> None:
    # GIVEN an instant with sub-millisecond digits
    # WHEN it is formatted both ways
    # THEN milliseconds are truncated, seconds rounded down
    assert destinations.iso_millis(T0) == "2030-01-01T00:00:00.567Z"
    assert destinations.iso_seconds(T0) == "2030-01-01T00:00:00Z"


@pytest.mark.parametrize(("key", "pattern"), [
    (destinations.mapping_object_key("e5d7-uuid", "shardId-000000000001", T0),
     r"aws/lambda/e5d7-uuid/shardId-000000000001/2030/01/01/2030-01-01T00\.00\.00-[0-9a-f-]{36}"),
    (destinations.async_object_key("device-state", T0),
     r"aws/lambda/async/device-state/2030/01/01/2030-01-01T00\.00\.00-[0-9a-f-]{36}"),
], ids=["mapping", "async"])
def test_s3_keys_follow_the_documented_naming(key: str, pattern: str) -> None:
    # GIVEN / WHEN a key for a mapping's shard or a function's asynchronous failures
    # THEN it is aws/lambda/.../YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>
    assert re.fullmatch(pattern, key), key


def test_sns_keeps_payloads_up_to_256_kb_together_and_drops_both_past_it() -> None:
    # GIVEN records whose payloads take exactly 256 KB together, and one byte more
    half = 128 * 1024 - 2  # the JSON string's quotes make it 128 KB
    fits = {"version": "1.0", "requestPayload": "x" * half, "responsePayload": "y" * half}
    over = {**fits, "responsePayload": "y" * (half + 1)}

    # WHEN each is shaped for SNS
    # THEN the first is whole; the second loses both payloads and keeps the rest
    assert destinations.within_sns_limit(fits) is fits
    assert destinations.within_sns_limit(over) == {"version": "1.0"}


def test_the_s3_form_of_a_stream_record_carries_the_event_as_a_string() -> None:
    # GIVEN a stream on-failure record and the event of its records
    record = {"requestContext": {}, "KinesisBatchInfo": {}}
    event = {"Records": [{"kinesis": {"data": "YQ=="}}]}

    # WHEN the S3 form is made
    stored = destinations.with_payload(record, event)

    # THEN it is the record plus payload, the event as escaped JSON
    assert stored == {**record, "payload": '{"Records":[{"kinesis":{"data":"YQ=="}}]}'}
    assert "payload" not in record
