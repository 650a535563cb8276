"""``shardline mappings``: the health of every event source mapping, from the AWS APIs.

Where a stream consumer stands is spread over two services, and this module joins them:

* Lambda (``ListEventSourceMappings``): each mapping's ``State`` (Enabled, Disabled,
  Creating, Updating...), ``StateTransitionReason`` (who changed it last) and
  ``LastProcessingResult`` (the outcome of its last processing attempt, "OK" or
  "PROBLEM: ...");
* CloudWatch (``GetMetricStatistics``): the function's AWS/Lambda ``IteratorAge``, the
  age of the last record of each batch when it was sent, per minute (Maximum). Lambda
  publishes it for stream mappings only, and only for minutes with invocations.

A consumer behind its stream shows a rising iterator age; a shard blocked on a failing
batch shows it too, with a PROBLEM result or errors (``shardline local status`` and the
Errors alarm); a consumer that is not invoked at all (disabled, throttled to zero, denied
its source) shows no recent datapoint and a State or result that says why.

It reads the same APIs on AWS and on the local stack (whose runtime publishes IteratorAge
and keeps mappings' state in the embedded Lambda API).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PERIOD_S = 60  # IteratorAge is a one-minute metric
MAX_WINDOW_S = 1440 * PERIOD_S  # GetMetricStatistics returns at most 1,440 datapoints
DEFAULT_BEHIND_MS = 60_000  # the iterator-age alarm's default threshold (alarm_thresholds)


@dataclass(frozen=True)
class MappingHealth:
    """One mapping as the APIs describe it, with its function's recent iterator age."""

    uuid: str
    function: str  # name[:qualifier], as the mapping invokes it
    source: str  # service:resource of the source ARN
    state: str
    state_reason: str
    last_result: str
    ages: tuple[tuple[float, float], ...]  # (minute start, Maximum IteratorAge ms), oldest first

    def checks(self, behind_ms: float) -> list[str]:
        """What needs attention: empty when the mapping looks healthy."""
        found = []
        if self.state != "Enabled":
            found.append(f"state {self.state}")
        if self.last_result.upper().startswith("PROBLEM"):
            found.append("last processing result is a PROBLEM")
        if self.ages and self.ages[-1][1] >= behind_ms:
            found.append(f"behind: iterator age >= {behind_ms:.0f} ms")
        # Rising over three minutes, and past half the threshold: seconds of jitter in a
        # healthy consumer are not worth a look.
        if (len(self.ages) >= 3 and self.ages[-1][1] >= behind_ms / 2
                and _rising(a for _, a in self.ages[-3:])):
            found.append("iterator age rising")
        return found

    def as_row(self, behind_ms: float) -> dict[str, Any]:
        latest = self.ages[-1] if self.ages else None
        return {
            "function": self.function, "source": self.source, "state": self.state,
            "last_result": self.last_result or "-",
            "iterator_age_ms": int(latest[1]) if latest else "-",
            "max_age_ms": int(max(a for _, a in self.ages)) if self.ages else "-",
            "at": _minute(latest[0]) if latest else "-",
            "check": "; ".join(self.checks(behind_ms)) or "ok",
        }


def _rising(values: Iterable[float]) -> bool:
    values = list(values)
    return all(later > earlier for earlier, later in itertools.pairwise(values))


def _minute(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%H:%M")


def short_source(arn: str) -> str:
    """``service:resource`` of an ARN (``kinesis:stream/shardline-telemetry``)."""
    parts = arn.split(":", 5)
    return f"{parts[2]}:{parts[5]}" if len(parts) == 6 else arn


def invoked_function(function_arn: str) -> str:
    """``name[:qualifier]`` of a function ARN."""
    return ":".join(function_arn.split(":")[6:]) or function_arn


def list_mappings(lambda_client: Any, prefix: str) -> list[Mapping[str, Any]]:
    """Every mapping whose function's name starts with ``prefix``."""
    found = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        for mapping in page.get("EventSourceMappings", []):
            if invoked_function(str(mapping.get("FunctionArn", ""))).startswith(prefix):
                found.append(mapping)
    return found


def iterator_ages(cloudwatch: Any, function_name: str, start_s: float,
                  end_s: float) -> tuple[tuple[float, float], ...]:
    """(minute start, Maximum IteratorAge ms) of ``function_name``, oldest first."""
    response = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="IteratorAge",
        Dimensions=[{"Name": "FunctionName", "Value": function_name}],
        StartTime=datetime.fromtimestamp(start_s, tz=UTC),
        EndTime=datetime.fromtimestamp(end_s, tz=UTC),
        Period=PERIOD_S, Statistics=["Maximum"])
    points = sorted((p["Timestamp"].timestamp(), float(p["Maximum"]))
                    for p in response.get("Datapoints", []))
    return tuple(points)


def mapping_health(lambda_client: Any, cloudwatch: Any, *, prefix: str, since_s: float,
                   now_s: float) -> list[MappingHealth]:
    """Every mapping of ``prefix``'s functions, with the iterator age since ``since_s``."""
    found, ages_of = [], {}
    for mapping in list_mappings(lambda_client, prefix):
        function = invoked_function(str(mapping["FunctionArn"]))
        source = short_source(str(mapping.get("EventSourceArn", "")))
        name = function.split(":", 1)[0]
        if source.startswith(("kinesis:", "dynamodb:")) and name not in ages_of:
            ages_of[name] = iterator_ages(cloudwatch, name, since_s, now_s)
        found.append(MappingHealth(
            uuid=str(mapping["UUID"]), function=function, source=source,
            state=str(mapping.get("State", "")),
            state_reason=str(mapping.get("StateTransitionReason") or ""),
            last_result=str(mapping.get("LastProcessingResult") or ""),
            ages=ages_of.get(name, ())))
    return sorted(found, key=lambda m: (m.function, m.source))


__all__ = ["DEFAULT_BEHIND_MS", "MAX_WINDOW_S", "PERIOD_S", "MappingHealth", "invoked_function",
           "iterator_ages", "list_mappings", "mapping_health", "short_source"]
