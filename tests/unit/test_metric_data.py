"""The datapoints the local runtime publishes are those AWS would: Lambda's invocation
metrics per function and minute, and the metrics of EMF log lines."""

from __future__ import annotations

import json

from shardline.local.metric_data import emf_metric_data, lambda_metric_data
from tests.factories.alarms import invocation

MINUTE = 1_800_000_000.0


def _by_name(data: list[dict]) -> dict[str, dict]:
    return {d["MetricName"]: d["StatisticValues"] for d in data}


def test_invocations_errors_throttles_and_duration_of_one_minute() -> None:
    # GIVEN two successful invocations, one function error and one throttle in a minute,
    # and one invocation in the next minute
    log = [invocation(MINUTE + 1, duration_ms=10), invocation(MINUTE + 2, duration_ms=30),
           invocation(MINUTE + 3, outcome="error", duration_ms=20),
           invocation(MINUTE + 4, outcome="throttled", duration_ms=0),
           invocation(MINUTE + 61)]
    # WHEN the minute's datapoints are computed
    stats = _by_name(lambda_metric_data(log, MINUTE, MINUTE + 60))
    # THEN throttled requests are not invocations, and errors are binary indicators
    assert stats["Invocations"]["Sum"] == 3
    assert (stats["Errors"]["Sum"], stats["Errors"]["SampleCount"]) == (1, 3)
    assert stats["Throttles"]["Sum"] == 1
    assert (stats["Duration"]["Minimum"], stats["Duration"]["Maximum"]) == (10, 30)
    assert "IteratorAge" not in stats  # not a stream mapping


def test_a_minute_without_invocations_publishes_nothing() -> None:
    assert lambda_metric_data([invocation(MINUTE + 61)], MINUTE, MINUTE + 60) == []


def test_the_function_name_dimension_has_no_qualifier() -> None:
    qualified = invocation(MINUTE, function="arn:aws:lambda:us-east-1:1:function:f:live")
    datum = lambda_metric_data([qualified], MINUTE, MINUTE + 60)[0]
    assert datum["Dimensions"] == [{"Name": "FunctionName", "Value": "f"}]


def test_an_emf_line_becomes_one_datum_per_metric_and_dimension_set() -> None:
    # GIVEN the EMF document Powertools Metrics prints
    line = json.dumps({
        "_aws": {"Timestamp": 1_800_000_000_000, "CloudWatchMetrics": [{
            "Namespace": "shardline", "Dimensions": [["service"]],
            "Metrics": [{"Name": "BatchHeadFailed", "Unit": "Count"},
                        {"Name": "QuarantineWriteFailed", "Unit": "Count"}]}]},
        "service": "aggregator", "BatchHeadFailed": [1.0], "QuarantineWriteFailed": 2.0})
    # WHEN it is parsed
    found = emf_metric_data(line)
    # THEN each metric is a datum in the namespace, with the service dimension
    assert [(ns, d["MetricName"], d["StatisticValues"]["Sum"]) for ns, d in found] == [
        ("shardline", "BatchHeadFailed", 1.0), ("shardline", "QuarantineWriteFailed", 2.0)]
    assert found[0][1]["Dimensions"] == [{"Name": "service", "Value": "aggregator"}]


def test_ordinary_log_lines_are_not_metrics() -> None:
    assert emf_metric_data('{"level": "INFO", "message": "hi"}') == []
    assert emf_metric_data("not json") == []
