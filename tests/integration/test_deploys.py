"""A deploy and a rollback through the `live` alias on the embedded stack (docs/deploys.md):
new code goes to $LATEST, is published as a version, and `live` moves to it; the
dispatcher, which invokes `<worker>:live`, runs it from the next event; pointing `live`
back at the previous version runs the old code again, with nothing else changed."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import msgspec

from lambdas.shared.telemetry import TelemetryV1
from producers.fleet import FleetConfig, generate
from shardline.local import embedded
from shardline.local.stack import LocalStack
from tests.factories.fanout import dispatcher_payload

HANDLER = "lambdas/device_state/handler.py"
# Release 2 of the device-state worker: the same work, its summary marked.
RELEASE_2 = """

_release_1_handler = lambda_handler


def lambda_handler(event, context):
    return {**_release_1_handler(event, context), "release": 2}
"""


def _readings(prefix: str) -> list[TelemetryV1]:
    config = FleetConfig(devices=2, rate_hz=1.0, duration_s=1, seed=7,
                         start_ms=int(time.time() * 1000) - 5_000)
    return [msgspec.structs.replace(record, device_id=f"{prefix}-{record.device_id}")
            for _, record in generate(config)]


def _with_release_2(package: bytes) -> bytes:
    """The deployed zip with the handler module of release 2."""
    source, target = io.BytesIO(package), io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            new.writestr(item, data + RELEASE_2.encode() if item.filename == HANDLER else data)
    return target.getvalue()


def _invoke_live(stack: LocalStack, function: str, prefix: str) -> dict[str, Any]:
    response = stack.client("lambda").invoke(
        FunctionName=f"{function}:live",
        Payload=json.dumps(dispatcher_payload(_readings(prefix))).encode())
    assert "FunctionError" not in response
    return json.loads(response["Payload"].read())  # type: ignore[no-any-return]


def test_a_deploy_and_a_rollback_through_the_live_alias(stack: LocalStack) -> None:
    # GIVEN the device-state worker as Terraform deployed it: `live` on its published version
    lambda_client = stack.client("lambda")
    function = str(stack.outputs["device_state_function_name"])
    live = lambda_client.get_alias(FunctionName=function, Name="live")
    previous = live["FunctionVersion"]
    assert previous.isdigit()
    assert "release" not in _invoke_live(stack, function, "deploy-before")

    # WHEN release 2 is deployed through the alias: code to $LATEST, publish, move `live`
    deployed = lambda_client.get_function_configuration(FunctionName=f"{function}:{previous}")
    package = embedded.function_code(deployed["FunctionArn"])
    lambda_client.update_function_code(FunctionName=function,
                                       ZipFile=_with_release_2(package))
    release_2 = lambda_client.publish_version(FunctionName=function)["Version"]
    lambda_client.update_alias(FunctionName=function, Name="live", FunctionVersion=release_2)

    # THEN invocations through the alias run release 2, and it does the work
    summary = _invoke_live(stack, function, "deploy-after")
    assert summary["release"] == 2 and summary["applied"] > 0
    assert int(release_2) > int(previous)

    # WHEN it is rolled back: `live` points at the previous version again
    lambda_client.update_alias(FunctionName=function, Name="live", FunctionVersion=previous)

    # THEN the next invocation runs the previous release, though $LATEST holds release 2
    summary = _invoke_live(stack, function, "deploy-rolled-back")
    assert "release" not in summary and summary["applied"] > 0
    latest = json.loads(lambda_client.invoke(
        FunctionName=function,
        Payload=json.dumps(dispatcher_payload(_readings("deploy-latest"))).encode(),
    )["Payload"].read())
    assert latest["release"] == 2
    # AND the deployment's own view agrees: the dispatcher still names the alias
    dispatcher = lambda_client.get_function_configuration(
        FunctionName=str(stack.outputs["dispatcher_function_name"]))
    workers = json.loads(dispatcher["Environment"]["Variables"]["WORKERS"])
    assert workers["device_state"] == f"{function}:live"
