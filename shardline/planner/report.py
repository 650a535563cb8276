"""A plan as one JSON-ready dict: what ``shardline plan`` prints (``--format json``) and
renders as tables. Figures are per 730-hour month unless their name says otherwise."""

from __future__ import annotations

from typing import Any

from shardline.planner.costs import Prices, monthly_costs, savings
from shardline.planner.model import GB, MONTH_S, Plan, Workload, plan
from shardline.planner.settings import Deployment


def _round(value: float) -> float:
    return float(f"{value:.4g}") if value else 0.0


def build_report(workload: Workload, deployment: Deployment, prices: Prices,
                 settings_source: str) -> dict[str, Any]:
    result = plan(workload, deployment)
    scale = MONTH_S / result.seconds
    costs = monthly_costs(result, deployment, prices)
    stream = result.stream
    notes = list(result.notes)
    if prices.region != deployment.region:
        notes.append(f"prices are for {prices.region}, the deployment is in {deployment.region}"
                     f": pass --prices with a price file for {deployment.region}")
    return {
        "workload": {
            "devices": workload.devices, "hz": workload.hz, "bytes": workload.record_bytes,
            "metrics": workload.metrics, "sites": workload.sites,
            "aggregate": workload.aggregate, "fanout": workload.fanout, "speed": workload.speed,
        },
        "settings": {"source": settings_source, "region": deployment.region,
                     "architecture": deployment.architecture,
                     "tumbling_window_s": deployment.tumbling_window_s,
                     "aggregator_batch_size": deployment.aggregator.batch_size,
                     "aggregator_batching_window_s": deployment.aggregator.batching_window_s},
        "prices": {"region": prices.region, "as_of": prices.as_of, "file": prices.source},
        "stream": {
            "shards": stream.shards,
            "binding_limit": stream.binding_limit,
            "user_records_per_s": _round(stream.user_records_per_s),
            "kinesis_records_per_s": _round(stream.kinesis_records_per_s),
            "user_records_per_kinesis_record": _round(stream.user_records_per_kinesis_record),
            "mib_per_s": _round(stream.bytes_per_s / 1024**2),
            "put_payload_units": _round(stream.put_payload_units_per_s * MONTH_S),
            "utilisation": {name: _round(use) for name, use in stream.utilisation().items()},
        },
        "lambda": {name: {"invocations": _round(usage.invocations * scale),
                          "gb_seconds": _round(usage.gb_seconds * scale),
                          "mean_concurrency": _round(usage.mean_concurrency),
                          "peak_concurrency": _round(usage.peak_concurrency)}
                   for name, usage in result.functions.items()},
        "dynamodb": {name: {"writes": _round(table.items_written * scale),
                            "write_units": _round(table.write_units * scale),
                            "read_units": _round(table.read_units * scale),
                            "storage_gb": _round(table.storage_bytes / GB)}
                     for name, table in result.tables.items()},
        "s3_archive": {"objects": _round(result.archive_objects * scale),
                       "stored_gb": _round(result.archive_bytes / GB)},
        "cloudwatch_logs": {"ingested_gb": _round(result.log_bytes * scale / GB)},
        "monthly_cost_usd": {**{name: round(cost, 2) for name, cost in costs.items()},
                             "total": round(sum(costs.values()), 2)},
        "savings": _savings(workload, deployment, prices),
        "notes": notes,
    }


def _savings(workload: Workload, deployment: Deployment, prices: Prices) -> dict[str, Any]:
    raw = savings(workload, deployment, prices)
    return {section: {name: {"with": _round(pair[0]), "without": _round(pair[1])}
                      for name, pair in figures.items()}
            for section, figures in raw.items()}


def counts(result: Plan) -> dict[str, float]:
    """The figures a run on the local stack can check: invocations per function and
    aggregates-table items per writer, over the plan's own period."""
    return {**{f"invocations.{name}": usage.invocations
               for name, usage in result.functions.items()},
            **{f"writes.{name}": items for name, items in result.items_by_writer.items()}}


__all__ = ["build_report", "counts"]
