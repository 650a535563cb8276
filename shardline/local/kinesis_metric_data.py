"""The stream-level AWS/Kinesis write metrics of one period, as ``MetricDatum`` entries (pure).

Kinesis developer guide, "Monitoring the Amazon Kinesis Data Streams service with Amazon
CloudWatch", basic stream-level metrics (dimension ``StreamName``, sent every minute):

* ``IncomingRecords`` / ``IncomingBytes`` — records and bytes successfully put, by
  PutRecord and PutRecords; Minimum, Maximum and Average are per put operation;
* ``PutRecord.Success`` — per PutRecord call, 1 when written (Average: the share of
  successful writes); ``PutRecord.Bytes`` — bytes put by PutRecord;
* ``PutRecords.Success`` — per PutRecords call, 1 when at least one record succeeded;
  ``PutRecords.Records`` and ``PutRecords.Bytes`` — the successful records and their bytes;
* ``WriteProvisionedThroughputExceeded`` — records rejected for throttling, by PutRecord
  and PutRecords (Average per operation; a non-zero Minimum means every put was throttled).

The per-call record counts ``PutRecords.TotalRecords``, ``SuccessfulRecords``,
``FailedRecords`` and ``ThrottledRecords`` are published too (the only failure the
embedded AWS makes is throttling). Each metric is one statistic set per stream and minute,
with a sample per put operation; nothing for a minute without puts (missing data).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from shardline.local.kinesis_writes import PutOutcome
from shardline.local.metric_data import timestamp

KINESIS_NAMESPACE = "AWS/Kinesis"


def kinesis_metric_data(puts: Iterable[PutOutcome], start: float,
                        end: float) -> list[dict[str, Any]]:
    """AWS/Kinesis datapoints for the puts with ``start <= at < end``, stamped ``start``."""
    samples: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for put in puts:
        if start <= put.at < end:
            for name, unit, value in _samples(put):
                samples[(put.stream, name, unit)].append(value)
    at = timestamp(start)
    return [{"MetricName": name, "Dimensions": [{"Name": "StreamName", "Value": stream}],
             "Timestamp": at, "Unit": unit,
             "StatisticValues": {"SampleCount": float(len(values)), "Sum": float(sum(values)),
                                 "Minimum": float(min(values)),
                                 "Maximum": float(max(values))}}
            for (stream, name, unit), values in sorted(samples.items())]


def _samples(put: PutOutcome) -> list[tuple[str, str, float]]:
    """(metric, unit, value) of one put operation."""
    found = [("WriteProvisionedThroughputExceeded", "Count", float(put.throttled))]
    if put.records:
        found += [("IncomingRecords", "Count", float(put.records)),
                  ("IncomingBytes", "Bytes", float(put.bytes))]
    if put.operation == "PutRecord":
        found.append(("PutRecord.Success", "Count", 1.0 if put.records else 0.0))
        if put.records:
            found.append(("PutRecord.Bytes", "Bytes", float(put.bytes)))
        return found
    return [
        *found,
        ("PutRecords.Success", "Count", 1.0 if put.records else 0.0),
        ("PutRecords.Records", "Count", float(put.records)),
        ("PutRecords.Bytes", "Bytes", float(put.bytes)),
        ("PutRecords.TotalRecords", "Count", float(put.records + put.throttled)),
        ("PutRecords.SuccessfulRecords", "Count", float(put.records)),
        ("PutRecords.FailedRecords", "Count", float(put.throttled)),
        ("PutRecords.ThrottledRecords", "Count", float(put.throttled)),
    ]
