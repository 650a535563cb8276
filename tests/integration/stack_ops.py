"""Operations the integration tests perform on the running stack through its APIs, as an
operator would: change the aggregator's configuration, recreate its mapping."""

from __future__ import annotations

import time
from typing import Any

from shardline.local.stack import LocalStack

CONFIG_APPLIES_S = 2.5  # the runtime re-reads a function's configuration once a second


def update_aggregator(stack: LocalStack, **settings: Any) -> dict[str, Any]:
    """Change the aggregator's configuration; return what it was (to restore it)."""
    client = stack.client("lambda")
    name = str(stack.outputs["aggregator_function_name"])
    before = client.get_function_configuration(FunctionName=name)
    client.update_function_configuration(FunctionName=name, **settings)
    time.sleep(CONFIG_APPLIES_S)
    return {key: before[key] for key in settings}


def wait_for_consumer(stack: LocalStack, mapping_uuid: str, timeout_s: float = 30) -> None:
    assert stack.engine is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(c.mapping.uuid == mapping_uuid for c in stack.engine.consumers()):
            return
        time.sleep(0.2)
    raise AssertionError(f"the engine did not pick up mapping {mapping_uuid} in {timeout_s}s")


def recreate_aggregator_mapping(stack: LocalStack, starting_at: float, **changes: Any) -> str:
    """Replace the aggregator's mapping by an identical one (but for ``changes``, e.g.
    ``BatchSize``) reading from ``starting_at`` (what an operator does to re-drive a
    stream): every record since is delivered again."""
    client = stack.client("lambda")
    old = next(m for m in client.list_event_source_mappings(
        EventSourceArn=str(stack.outputs["stream_arn"]))["EventSourceMappings"])
    settings = {key: old[key] for key in (
        "FunctionArn", "EventSourceArn", "BatchSize", "MaximumBatchingWindowInSeconds",
        "ParallelizationFactor", "TumblingWindowInSeconds", "BisectBatchOnFunctionError",
        "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "DestinationConfig",
        "FunctionResponseTypes") if key in old}
    settings["FunctionName"] = settings.pop("FunctionArn")
    settings.update(changes)
    client.delete_event_source_mapping(UUID=old["UUID"])
    new = client.create_event_source_mapping(
        **settings, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=starting_at)
    wait_for_consumer(stack, new["UUID"])
    return str(new["UUID"])
