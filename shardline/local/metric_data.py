"""The datapoints AWS would publish, as PutMetricData ``MetricDatum`` entries (pure).

* **AWS/Lambda**, per ``FunctionName`` and one-minute period, from the invocation log
  (Lambda guide, "Types of metrics for Lambda functions"): ``Invocations`` counts
  invocations of the function code, including those that return a function error, but
  not throttled requests; ``Errors`` counts function errors (a batch-item-failures
  response is not one); ``Throttles`` counts throttled requests; ``Duration`` is the
  time the code ran; ``IteratorAge`` (stream event source mappings only) is the age of
  the batch's last record when Lambda sent the batch. Invocation metrics are binary
  indicators, read with ``Sum``: each invocation contributes 0 or 1 to ``Errors``.
  Lambda publishes nothing for a minute without invocations (missing data, not zero).
* **Embedded metric format** (EMF) log lines, which Powertools Metrics prints: CloudWatch
  Logs extracts a metric per name in ``_aws.CloudWatchMetrics[].Metrics`` for each
  dimension set, with the values found at the root of the document.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

LAMBDA_NAMESPACE = "AWS/Lambda"
DYNAMODB_NAMESPACE = "AWS/DynamoDB"
SQS_NAMESPACE = "AWS/SQS"
# Outcomes of the invocation log (stream, SQS and direct invocations alike).
FUNCTION_ERROR_OUTCOMES = frozenset({"error", "invalid_response"})
THROTTLED_OUTCOME = "throttled"


def timestamp(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)


def function_name(function_arn: str) -> str:
    """``FunctionName`` dimension: the name, without a qualifier."""
    parts = function_arn.split(":")
    return parts[6] if len(parts) > 6 else function_arn


def _statistic_set(values: list[float]) -> dict[str, float]:
    return {"SampleCount": float(len(values)), "Sum": float(sum(values)),
            "Minimum": float(min(values)), "Maximum": float(max(values))}


def _datum(name: str, function: str, values: list[float], unit: str,
           at: datetime) -> dict[str, Any]:
    return {"MetricName": name, "Dimensions": [{"Name": "FunctionName", "Value": function}],
            "Timestamp": at, "StatisticValues": _statistic_set(values), "Unit": unit}


def lambda_metric_data(invocations: Iterable[Any], start: float,
                       end: float) -> list[dict[str, Any]]:
    """AWS/Lambda datapoints for the log entries with ``start <= at < end``, stamped
    ``start`` (one period)."""
    by_function: dict[str, list[Any]] = defaultdict(list)
    for invocation in invocations:
        if start <= invocation.at < end:
            by_function[function_name(invocation.function)].append(invocation)
    at = timestamp(start)
    data: list[dict[str, Any]] = []
    for function, entries in sorted(by_function.items()):
        ran = [e for e in entries if e.outcome != THROTTLED_OUTCOME]
        throttled = [e for e in entries if e.outcome == THROTTLED_OUTCOME]
        if ran:
            data.append(_datum("Invocations", function, [1.0] * len(ran), "Count", at))
            data.append(_datum("Errors", function, [
                1.0 if e.outcome in FUNCTION_ERROR_OUTCOMES else 0.0 for e in ran],
                "Count", at))
            data.append(_datum("Duration", function,
                               [float(e.duration_ms) for e in ran], "Milliseconds", at))
        if throttled:
            data.append(_datum("Throttles", function, [1.0] * len(throttled), "Count", at))
        ages = [float(age) for e in ran
                if (age := getattr(e, "iterator_age_ms", None)) is not None]
        if ages:
            data.append(_datum("IteratorAge", function, ages, "Milliseconds", at))
    return data


def dynamodb_throttle_data(events: Iterable[tuple[float, str, str]], start: float,
                           end: float) -> list[dict[str, Any]]:
    """AWS/DynamoDB ``ReadThrottleEvents`` / ``WriteThrottleEvents`` per ``TableName``
    for the throttled requests (epoch s, table, Read | Write) of one period."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for at, table, kind in events:
        if start <= at < end:
            counts[(table, kind)] += 1
    return [{"MetricName": f"{kind}ThrottleEvents",
             "Dimensions": [{"Name": "TableName", "Value": table}],
             "Timestamp": timestamp(start), "Value": float(count), "Unit": "Count"}
            for (table, kind), count in sorted(counts.items())]


def queue_depth_datum(queue_name: str, visible: int, at: float) -> dict[str, Any]:
    """AWS/SQS ``ApproximateNumberOfMessagesVisible`` for one queue."""
    return {"MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
            "Timestamp": timestamp(at), "Value": float(visible), "Unit": "Count"}


def emf_metric_data(line: str) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, datum) for each metric and dimension set of an EMF log line; nothing
    for a line that is not an EMF document (ordinary logs)."""
    try:
        document = json.loads(line)
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    metadata = document.get("_aws")
    if not isinstance(metadata, dict) or "CloudWatchMetrics" not in metadata:
        return []
    at = timestamp(float(metadata.get("Timestamp", 0)) / 1000)
    found: list[tuple[str, dict[str, Any]]] = []
    for directive in metadata["CloudWatchMetrics"]:
        namespace = directive.get("Namespace")
        for dimension_set in directive.get("Dimensions") or [[]]:
            if namespace is None or any(key not in document for key in dimension_set):
                continue
            dimensions = [{"Name": key, "Value": str(document[key])} for key in dimension_set]
            for metric in directive.get("Metrics", []):
                found.extend((namespace, datum) for datum in _emf_data(
                    document, metric, dimensions, at))
    return found


def _emf_data(document: dict[str, Any], metric: dict[str, Any],
              dimensions: list[dict[str, str]], at: datetime) -> list[dict[str, Any]]:
    value = document.get(metric.get("Name", ""))
    values = value if isinstance(value, list) else [value]
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    if not numbers:
        return []
    return [{"MetricName": metric["Name"], "Dimensions": dimensions, "Timestamp": at,
             "StatisticValues": _statistic_set(numbers),
             "Unit": metric.get("Unit", "None")}]
