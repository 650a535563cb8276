"""Prices (one TOML file per region, ``shardline/prices/``) and what a plan costs a month."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from shardline.errors import ShardlineError
from shardline.planner.model import GB, MONTH_S, Plan, Workload, naive_writes, plan
from shardline.planner.settings import Deployment

_REQUIRED = {
    "kinesis": ("shard_hour", "put_payload_units_per_million", "extended_retention_shard_hour",
                "efo_consumer_shard_hour", "efo_data_retrieval_per_gb"),
    "lambda": ("requests_per_million", "gb_second_x86_64", "gb_second_arm64"),
    "dynamodb": ("write_request_units_per_million", "read_request_units_per_million",
                 "storage_gb_month"),
    "s3": ("storage_gb_month", "put_requests_per_thousand"),
    "cloudwatch_logs": ("ingestion_per_gb", "storage_gb_month"),
}


@dataclass(frozen=True)
class Prices:
    region: str
    as_of: str
    source: str  # the file, or "<name> (bundled)" for one shipped with shardline
    table: dict[str, dict[str, float]]

    def __getitem__(self, key: str) -> dict[str, float]:
        return self.table[key]


def bundled_prices(region: str) -> Path | None:
    """The price file shipped for ``region``, or None."""
    candidate = resources.files("shardline") / "prices" / f"{region}.toml"
    return Path(str(candidate)) if candidate.is_file() else None


def load_prices(path: Path) -> Prices:
    """A price file, checked: every price the planner uses, as a number >= 0."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ShardlineError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ShardlineError(f"{path} is not valid TOML: {exc}") from None
    for key in ("region", "as_of"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ShardlineError(f"{path} must name its {key}")
    table: dict[str, dict[str, float]] = {}
    for section, names in _REQUIRED.items():
        values = data.get(section)
        if not isinstance(values, dict):
            raise ShardlineError(f"{path} has no [{section}] section")
        for name in names:
            value = values.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ShardlineError(f"{path}: {section}.{name} must be a price >= 0")
        table[section] = {name: float(values[name]) for name in names}
    bundled = bundled_prices(str(data["region"]))
    source = f"{path.name} (bundled)" if bundled and bundled.resolve() == path.resolve() else str(
        path)
    return Prices(data["region"], data["as_of"], source, table)


def monthly_costs(result: Plan, deployment: Deployment, prices: Prices) -> dict[str, float]:
    """USD a month per component (the plan's period scaled to a 730-hour month)."""
    scale = MONTH_S / result.seconds
    hours = MONTH_S / 3600
    shards = result.stream.shards
    kinesis, lam, ddb = prices["kinesis"], prices["lambda"], prices["dynamodb"]
    costs = {
        "kinesis shards": shards * hours * kinesis["shard_hour"] + (
            shards * hours * kinesis["extended_retention_shard_hour"]
            if deployment.stream_retention_hours > 24 else 0.0),
        "kinesis PUT payload units": result.stream.put_payload_units_per_s * MONTH_S / 1e6
        * kinesis["put_payload_units_per_million"],
    }
    if result.workload.fanout:
        costs["kinesis enhanced fan-out"] = (
            shards * hours * kinesis["efo_consumer_shard_hour"]
            + result.stream.bytes_per_s * MONTH_S / GB * kinesis["efo_data_retrieval_per_gb"])
    gb_second = lam[f"gb_second_{deployment.architecture}"]
    for name, usage in result.functions.items():
        costs[f"lambda {name}"] = scale * (usage.invocations / 1e6 * lam["requests_per_million"]
                                           + usage.gb_seconds * gb_second)
    for name, table in result.tables.items():
        costs[f"dynamodb {name}"] = (
            scale * (table.write_units / 1e6 * ddb["write_request_units_per_million"]
                     + table.read_units / 1e6 * ddb["read_request_units_per_million"])
            + table.storage_bytes / GB * ddb["storage_gb_month"])
    if result.archive_objects:
        s3 = prices["s3"]
        costs["s3 archive"] = (
            scale * (result.archive_objects + result.archive_list_requests) / 1000
            * s3["put_requests_per_thousand"] + result.archive_bytes / GB * s3["storage_gb_month"])
    logs = prices["cloudwatch_logs"]
    retained_months = min(1.0, deployment.log_retention_days / 30)
    costs["cloudwatch logs"] = scale * result.log_bytes / GB * (
        logs["ingestion_per_gb"] + logs["storage_gb_month"] * retained_months)
    return costs


def savings(workload: Workload, deployment: Deployment, prices: Prices) -> dict[str, Any]:
    """What KPL aggregation and the one-minute partials save, side by side: the same
    fleet planned without aggregation; the minute path's writes (partials, totals and
    pending-hour markers) against one ``UpdateItem`` per reading and metric. The roll-ups
    are the same in both designs and left out."""
    with_kpl = plan(replace(workload, aggregate=True), deployment)
    without_kpl = plan(replace(workload, aggregate=False), deployment)
    scale_with = MONTH_S / with_kpl.seconds
    minute_path = ("aggregator", "rollup")  # what replaces the per-reading writes
    items = sum(with_kpl.items_by_writer[name] for name in minute_path)
    units = sum(with_kpl.units_by_writer[name] for name in minute_path)
    naive = naive_writes(workload)
    ddb = prices["dynamodb"]["write_request_units_per_million"]
    put = prices["kinesis"]["put_payload_units_per_million"]
    shard_month = MONTH_S / 3600 * prices["kinesis"]["shard_hour"]
    return {
        "kpl_aggregation": {
            "shards": [with_kpl.stream.shards, without_kpl.stream.shards],
            "kinesis_records_per_s": [with_kpl.stream.kinesis_records_per_s,
                                      without_kpl.stream.kinesis_records_per_s],
            "put_payload_units_per_month": [
                with_kpl.stream.put_payload_units_per_s * MONTH_S,
                without_kpl.stream.put_payload_units_per_s * MONTH_S],
            "usd_per_month": [
                with_kpl.stream.put_payload_units_per_s * MONTH_S / 1e6 * put
                + with_kpl.stream.shards * shard_month,
                without_kpl.stream.put_payload_units_per_s * MONTH_S / 1e6 * put
                + without_kpl.stream.shards * shard_month],
        },
        "one_minute_partials": {
            "minute_writes_per_month": [items * scale_with, naive * scale_with],
            "write_units_per_month": [units * scale_with, naive * scale_with],
            "usd_per_month": [units * scale_with / 1e6 * ddb, naive * scale_with / 1e6 * ddb],
        },
    }


__all__ = ["Prices", "bundled_prices", "load_prices", "monthly_costs", "savings"]
