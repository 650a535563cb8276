"""The dispatcher → worker payload (``lambdas.shared.worker_payload``): typed records,
invalid telemetry set aside with a reason, a malformed envelope refused."""

from __future__ import annotations

import pytest

from lambdas.shared.worker_payload import InvalidPayload, WorkerPayload
from tests.factories.telemetry import telemetry_record
from tests.factories.worker_payload import BASE_SEQUENCE, worker_payload, worker_record


def test_records_are_typed_and_decoded():
    # GIVEN a payload of one valid and one invalid record
    payload = worker_payload([worker_record(telemetry_record(seq=7), index=0, sub=2),
                              worker_record(b"not json", index=1)])
    # WHEN parsed
    parsed = WorkerPayload.from_event(payload)
    good, bad = parsed.decoded()
    # THEN the valid one is decoded and the other set aside with a reason
    assert parsed.shard_id == "shardId-000000000000"
    assert parsed.records[0].position == (BASE_SEQUENCE, 2)
    assert parsed.records[1].position == (BASE_SEQUENCE + 1000, 0)
    assert [item.telemetry.seq for item in good] == [7]
    assert [item.reason.split(":")[0] for item in bad] == ["decode"]


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda p: p.pop("shardId"), "shardId"),
    (lambda p: p.update(records={}), "records"),
    (lambda p: p["records"][0].update(sequenceNumber="49x"), "sequenceNumber"),
    (lambda p: p["records"][0].update(subSequenceNumber=-1), "subSequenceNumber"),
    (lambda p: p["records"][0].update(data="***"), "data"),
    (lambda p: p["records"][0].update(approximateArrivalTimestamp="soon"), "Arrival"),
])
def test_a_malformed_envelope_is_refused_with_where(mutate, where):
    # GIVEN a payload broken in one place
    payload = worker_payload([telemetry_record()])
    mutate(payload)
    # WHEN / THEN parsing refuses it, naming the place
    with pytest.raises(InvalidPayload, match=where):
        WorkerPayload.from_event(payload)
