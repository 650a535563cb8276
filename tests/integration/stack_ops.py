"""Operations the integration tests perform on the running stack through its APIs, as an
operator would: change the aggregator's configuration, recreate its mapping, take an
action out of a role's policies for a while."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from shardline.local.stack import LocalStack
from tests.support.deploy import release

CONFIG_APPLIES_S = 2.5  # the runtime re-reads a function's configuration once a second


def update_aggregator(stack: LocalStack, **settings: Any) -> dict[str, Any]:
    """Change the aggregator's configuration and release it through the live alias;
    return what it was (to restore it)."""
    client = stack.client("lambda")
    name = str(stack.outputs["aggregator_function_name"])
    before = client.get_function_configuration(FunctionName=name)
    client.update_function_configuration(FunctionName=name, **settings)
    release(client, name)  # its mappings invoke the live alias
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


def role_arn(stack: LocalStack, output: str) -> str:
    name = stack.outputs[output]
    return str(stack.client("lambda").get_function_configuration(FunctionName=name)["Role"])


@contextmanager
def without_action(stack: LocalStack, role_arn: str, action: str) -> Iterator[None]:
    """Remove ``action`` from every inline policy of the role (through the IAM API) for
    the block, then put the policies back as they were."""
    iam = stack.client("iam")
    role = role_arn.rsplit("/", 1)[-1]
    saved = {name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
             for name in iam.list_role_policies(RoleName=role)["PolicyNames"]}
    try:
        for name, document in saved.items():
            iam.put_role_policy(RoleName=role, PolicyName=name,
                                PolicyDocument=json.dumps(_strip(document, action)))
        yield
    finally:
        for name, document in saved.items():
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def _strip(document: Any, action: str) -> dict[str, Any]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    kept = []
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        remaining = [a for a in actions if a.lower() != action.lower()]
        if "Action" in statement and not remaining:
            continue
        kept.append({**statement, "Action": remaining} if "Action" in statement else statement)
    return {**document, "Statement": kept or [{"Effect": "Deny", "Action": "none:none",
                                                "Resource": "*"}]}


def until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


@contextmanager
def paused_mappings(stack: LocalStack, function_output: str,
                    timeout_s: float = 30) -> Iterator[None]:
    """Disable the function's event source mappings for the block, as an operator keeps a
    consumer out of a drill, then enable them again (each resumes where it stopped)."""
    assert stack.engine is not None
    client = stack.client("lambda")
    function_arn = str(stack.outputs[function_output])
    # Not FunctionName=: moto compares it with the mapping's function as created (an ARN,
    # the function's `live` alias).
    uuids = [m["UUID"] for m in client.list_event_source_mappings()["EventSourceMappings"]
             if m["FunctionArn"].rpartition(":")[0] == function_arn]
    assert uuids, f"{function_arn} has no event source mapping"
    for uuid in uuids:
        client.update_event_source_mapping(UUID=uuid, Enabled=False)
    assert until(lambda: not any(getattr(c, "mapping", None) is not None
                                 and c.mapping.uuid in uuids
                                 for c in stack.engine.consumers()), timeout_s)
    try:
        yield
    finally:
        for uuid in uuids:
            client.update_event_source_mapping(UUID=uuid, Enabled=True)
