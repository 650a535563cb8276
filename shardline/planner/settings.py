"""The deployed settings the planner needs, read from the project's Terraform.

Layers, first match wins: the ``--var-file`` given, the root module's variable defaults
(``terraform/variables*.tf``), then the fanout module's (``modules/fanout/variables*.tf``,
for the workers' sizes the root leaves to it). Each setting is looked up by its path,
nested (``aggregator.batch_size``) or flat (``aggregator_batch_size``), so both shapes of
the variables work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shardline.errors import ShardlineError
from shardline.planner.hcl import read_tfvars, read_variables

WORKERS = ("device_state", "alerts", "archive")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}


@dataclass(frozen=True)
class BatchSettings:
    """One event source mapping's batching, as deployed."""

    batch_size: int
    batching_window_s: float
    parallelization: int = 1


@dataclass(frozen=True)
class Deployment:
    """What the planner's model reads from the deployed configuration."""

    region: str
    architecture: str
    aggregator: BatchSettings
    tumbling_window_s: int
    rollup: BatchSettings
    dispatcher: BatchSettings
    dispatcher_max_payload_bytes: int
    memory_mb: Mapping[str, int]  # function -> MB
    schedule_interval_s: int
    settle_seconds: int
    minute_retention_days: int
    rollup_retention_days: int
    archive_retention_days: int
    fanout_enabled: bool
    routes: tuple[str, ...]
    log_retention_days: int
    stream_retention_hours: int
    log_level: str


class Layers:
    """Values looked up through layers of variables, first found wins."""

    def __init__(self, layers: Sequence[Mapping[str, Any]]) -> None:
        self.layers = list(layers)

    def get(self, *path: str) -> Any:
        for layer in self.layers:
            for candidate in _candidates(layer, path):
                if candidate is not None:
                    return candidate
        return None

    def require(self, *path: str) -> Any:
        value = self.get(*path)
        if value is None:
            raise ShardlineError(f"setting {'.'.join(path)} is not in the Terraform variables "
                                 "or the var file")
        return value


def _candidates(layer: Mapping[str, Any], path: Sequence[str]) -> list[Any]:
    """Where ``path`` may live in one layer: nested, flat, or flat below a prefix."""
    found = []
    for split in range(len(path), 0, -1):
        head = "_".join(path[:split])
        value: Any = layer.get(head)
        for key in path[split:]:
            value = value.get(key) if isinstance(value, Mapping) else None
        found.append(value)
        # ``aggregator.batch_size`` flat under a group, e.g. ``aggregator.mapping.batch_size``
        if split == 1 and isinstance(layer.get(head), Mapping) and len(path) > 1:
            found.append(_nested_find(layer[head], "_".join(path[1:])))
    return found


def _nested_find(tree: Mapping[str, Any], key: str) -> Any:
    for name, value in tree.items():
        if name == key and value is not None:
            return value
        if isinstance(value, Mapping):
            inner = _nested_find(value, key)
            if inner is not None:
                return inner
    return None


def schedule_interval_s(expression: str) -> int:
    """Seconds between runs of an EventBridge ``rate(...)`` expression (a ``cron(...)``
    is taken as every 5 minutes, the default)."""
    match = _RATE.match(expression.strip())
    if not match:
        return 300
    unit = match.group(2).rstrip("s")
    return int(match.group(1)) * _UNIT_SECONDS[unit]


def load_layers(terraform_dir: Path, var_file: Path | None) -> Layers:
    root_defaults, root_types = read_variables(sorted(terraform_dir.glob("variables*.tf")))
    if not root_defaults:
        raise ShardlineError(f"no Terraform variables found in {terraform_dir}")
    module_defaults, _ = read_variables(
        sorted((terraform_dir / "modules" / "fanout").glob("variables*.tf")))
    layers: list[Mapping[str, Any]] = []
    if var_file is not None:
        layers.append(read_tfvars(var_file, root_types))
    layers += [root_defaults, {"fanout": module_defaults}]
    return Layers(layers)


def _mapping(values: Layers, *prefix: str) -> BatchSettings:
    return BatchSettings(batch_size=int(values.require(*prefix, "batch_size")),
                    batching_window_s=float(values.require(
                        *prefix, "maximum_batching_window_in_seconds")),
                    parallelization=int(values.get(*prefix, "parallelization_factor") or 1))


def deployment(values: Layers) -> Deployment:
    """The settings the model needs; a one-line error names any it cannot find."""
    routes = values.get("fanout", "routes") or [{"worker": w} for w in WORKERS]
    memory = {
        "aggregator": values.require("aggregator", "memory_size"),
        "rollup": values.require("rollup", "memory_size"),
        "scheduled_rollup": values.require("scheduled_rollup", "memory_size"),
        "dispatcher": values.require("fanout", "dispatcher", "memory_size"),
        **{worker: values.require("fanout", worker, "memory_size") for worker in WORKERS},
    }
    return Deployment(
        region=str(values.require("region")),
        architecture=str(values.require("lambda_architecture")),
        aggregator=_mapping(values, "aggregator"),
        tumbling_window_s=int(values.require("aggregator", "tumbling_window_in_seconds")),
        rollup=_mapping(values, "rollup"),
        dispatcher=_mapping(values, "fanout", "dispatcher"),
        dispatcher_max_payload_bytes=int(values.require("fanout", "dispatcher",
                                                        "max_payload_bytes")),
        memory_mb={name: int(mb) for name, mb in memory.items()},
        schedule_interval_s=schedule_interval_s(
            str(values.require("scheduled_rollup", "schedule_expression"))),
        settle_seconds=int(values.require("scheduled_rollup", "settle_seconds")),
        minute_retention_days=int(values.require("aggregates_retention_days", "minute")),
        rollup_retention_days=int(values.require("aggregates_retention_days", "rollup")),
        archive_retention_days=int(values.require("fanout", "archive", "retention_days")),
        fanout_enabled=bool(values.get("fanout", "enabled")),
        routes=tuple(str(route["worker"]) for route in routes),
        log_retention_days=int(values.require("log_retention_in_days")),
        stream_retention_hours=int(values.require("stream_retention_hours")),
        log_level=str(values.get("log_level") or "INFO"),
    )


def load_deployment(terraform_dir: Path, var_file: Path | None = None) -> Deployment:
    return deployment(load_layers(terraform_dir, var_file))


__all__ = [
    "BatchSettings",
    "Deployment",
    "Layers",
    "deployment",
    "load_deployment",
    "load_layers",
    "schedule_interval_s",
]
