"""The aggregator's fold of one invocation's records, and its configuration (no AWS)."""

from __future__ import annotations

import base64

import pytest

from lambdas.aggregator.config import AggregatorConfig, ConfigError, WriteTuning
from lambdas.aggregator.envelope import WindowInvocation
from lambdas.aggregator.fold import InvocationFold, RecordSkipped
from lambdas.aggregator.window_state import WindowAggregate
from tests.factories.telemetry import (
    BASE_TS_MS,
    device_series,
    malformed_json,
    telemetry_bytes,
    telemetry_record,
    window_aggregate,
)

SHARD = "shardId-000000000007"
WINDOW_START = BASE_TS_MS // 1000


def aggregate_of(records, first_sequence=1_000) -> WindowAggregate:
    return window_aggregate(records, first_sequence)


# One invocation --------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_fold_skips_records_already_in_the_state():
    # GIVEN a window state that already holds records up to sequence number 200
    aggregate = aggregate_of(device_series("dev-1", 2), first_sequence=199)
    before = aggregate.to_state()

    # WHEN a retry re-delivers record 200 and then a new record 201
    fold = InvocationFold(aggregate)
    replayed = fold.apply("200", b64(telemetry_bytes(ts=BASE_TS_MS + 1_000)))
    fresh = fold.apply("201", b64(telemetry_bytes(ts=BASE_TS_MS + 2_000)))

    # THEN the re-delivered one is not counted again, the new one is
    assert replayed is None and fresh is not None
    assert fold.tally.duplicates == 1 and fold.tally.aggregated == 1
    assert aggregate.aggregated == before["aggregated"] + 1


def test_after_a_failed_record_later_records_are_refused(monkeypatch):
    # GIVEN a fold whose commit raises for sequence number 11
    aggregate = WindowAggregate()
    original = WindowAggregate.commit

    def commit(self, contribution):
        if contribution.sequence_number == "11":
            raise RuntimeError("bug")
        original(self, contribution)

    monkeypatch.setattr(WindowAggregate, "commit", commit)
    fold = InvocationFold(aggregate)

    # WHEN records 10, 11 and 12 are applied
    fold.apply("10", b64(telemetry_bytes()))
    with pytest.raises(RuntimeError):
        fold.apply("11", b64(telemetry_bytes()))
    with pytest.raises(RecordSkipped):
        fold.apply("12", b64(telemetry_bytes()))

    # THEN the state holds record 10 only, a prefix that a retry from 11 continues exactly
    assert aggregate.last_sequence == "10" and aggregate.aggregated == 1
    assert (fold.tally.failed, fold.tally.skipped) == (1, 1)


def test_non_base64_data_is_quarantined():
    # GIVEN an event record whose data is not base64 / WHEN applied
    contribution = InvocationFold(WindowAggregate()).apply("3", "not base64!!", "dev-1")

    # THEN it is quarantined, not failed
    assert contribution is not None
    assert contribution.quarantined[0].reason.startswith("envelope")


def test_quarantined_records_count_in_the_window():
    # GIVEN an invocation of a valid and a malformed record
    aggregate = WindowAggregate()
    fold = InvocationFold(aggregate)

    # WHEN both are applied
    fold.apply("1", b64(telemetry_bytes()))
    fold.apply("2", b64(malformed_json()))

    # THEN one is aggregated, one quarantined, both behind the watermark
    assert (aggregate.aggregated, aggregate.quarantined) == (1, 1)
    assert aggregate.is_committed("2") and not aggregate.is_committed("3")


@pytest.mark.parametrize(
    ("final", "early", "fail", "expected"),
    [
        (True, False, False, None),
        (True, True, False, "100"),
        (False, True, False, "100"),
        (True, False, True, "100"),
    ],
    ids=["final", "final_and_early", "early", "final_with_failures"],
)
def test_flush_segment_marks_pieces_of_a_window(final, early, fail, expected):
    # GIVEN a window whose first record was 100
    aggregate = aggregate_of([telemetry_record()], first_sequence=100)
    fold = InvocationFold(aggregate)
    if fail:
        fold.first_failure = "101"
    invocation = WindowInvocation(SHARD, WINDOW_START, WINDOW_START + 60, {}, final, early)

    # WHEN / THEN only a piece followed by more of the window gets a segment
    assert fold.flush_segment(invocation) == expected


# Configuration ---------------------------------------------------------------------------


def test_config_requires_the_aggregates_table():
    # GIVEN an environment without AGGREGATES_TABLE / WHEN read / THEN a clear error
    with pytest.raises(ConfigError, match="AGGREGATES_TABLE"):
        AggregatorConfig.from_environ({})


def test_config_reads_table_and_write_tuning():
    # GIVEN a full environment
    environ = {
        "AGGREGATES_TABLE": "aggregates",
        "WRITE_MAX_ATTEMPTS": "3",
        "WRITE_BASE_DELAY_MS": "10",
        "WRITE_MAX_DELAY_MS": "500",
        "WRITE_MAX_WORKERS": "2",
    }

    # WHEN / THEN every setting is typed
    config = AggregatorConfig.from_environ(environ)
    assert config == AggregatorConfig("aggregates", WriteTuning(3, 0.01, 0.5, 2))
    # AND the seal size of window pieces defaults to 600 KB, and can be set
    assert config.seal_bytes == 600_000
    assert AggregatorConfig.from_environ({**environ, "WINDOW_SEAL_BYTES": "4000"}
                                         ).seal_bytes == 4_000


@pytest.mark.parametrize(
    ("name", "value"), [("WRITE_MAX_ATTEMPTS", "0"), ("WRITE_MAX_WORKERS", "x"),
                        ("WRITE_BASE_DELAY_MS", "-1"), ("WINDOW_SEAL_BYTES", "999"),
                        ("WINDOW_SEAL_BYTES", "700001")]
)
def test_config_rejects_bad_tuning(name, value):
    # GIVEN a bad tuning value / WHEN read / THEN the error names the variable
    with pytest.raises(ConfigError, match=name):
        AggregatorConfig.from_environ({"AGGREGATES_TABLE": "t", name: value})
