"""Function configuration and code updated through the Lambda API while the runtime runs
are what the next invocation uses (as after `terraform apply` of a change)."""

from __future__ import annotations

import io
import json
import zipfile

from tests.conformance.harness import PRELUDE, Harness

ECHO_ENV = """
def lambda_handler(event, context):
    return {"colour": os.environ.get("COLOUR"), "version": 1}
"""


def _invoke(harness: Harness, name: str) -> dict:
    response = harness.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    return json.loads(response["Payload"].read())


def test_updated_environment_and_code_apply_to_the_next_invocation(harness: Harness) -> None:
    # GIVEN a function that has been invoked once (loaded and warm)
    harness.runtime.refresh_interval_s = 0.0
    harness.function("updatable", ECHO_ENV, environment={"COLOUR": "red"})
    assert _invoke(harness, "updatable") == {"colour": "red", "version": 1}
    lambda_client = harness.client("lambda")

    # WHEN its environment is updated THEN the next invocation sees the new value
    lambda_client.update_function_configuration(
        FunctionName="updatable", Environment={"Variables": {"COLOUR": "blue"}})
    assert _invoke(harness, "updatable") == {"colour": "blue", "version": 1}

    # WHEN new code is deployed under the same handler string THEN it runs next
    handler = lambda_client.get_function_configuration(FunctionName="updatable")["Handler"]
    package = handler.split(".")[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{package}/__init__.py", "")
        archive.writestr(f"{package}/handler.py", PRELUDE + ECHO_ENV.replace(
            '"version": 1', '"version": 2'))
    lambda_client.update_function_code(FunctionName="updatable", ZipFile=buffer.getvalue())
    assert _invoke(harness, "updatable") == {"colour": "blue", "version": 2}
