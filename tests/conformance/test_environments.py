"""Execution environments (DESIGN.md, local runtime step 4), as Lambda runs a function:
worker processes of the function's own, started once and reused while warm, with exactly
the function's environment, Lambda's variables and its role's temporary credentials;
a timeout or a runtime exit ends the environment; several run side by side up to the
function's concurrency."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shardline.local.embedded import EmbeddedAws, attach_runtime, reset_backends
from shardline.local.engine import Engine
from tests.conformance.harness import Harness

# What Lambda's Python runtime sets in every environment (the role's credentials among
# them), plus the local endpoint: nothing else may appear beside the function's own.
LAMBDA_VARIABLES = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS", "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR", "LANG", "PATH", "TZ", "AWS_ENDPOINT_URL",
}

# Module-level state is init code: it runs once per environment.
WHO_AM_I = """
import os, time
import boto3

INITIALISED_AT = time.time()
INITS = [os.getpid()]
calls = 0

def lambda_handler(event, context):
    global calls
    calls += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("exit"):
        os._exit(3)
    if event.get("print"):
        print(event["print"], flush=True)
    reply = {"pid": os.getpid(), "calls": calls, "inits": len(INITS),
             "environment": dict(os.environ),
             "remaining_ms": context.get_remaining_time_in_millis(),
             "function_name": context.function_name, "request_id": context.aws_request_id}
    if event.get("whoami"):
        reply["caller"] = boto3.client("sts").get_caller_identity()["Arn"]
    return reply
"""

BROKEN_IMPORT = """
import a_module_that_is_not_deployed

def lambda_handler(event, context):
    return "unreachable"
"""


@pytest.fixture
def harness(embedded_aws: EmbeddedAws, tmp_path: Path) -> Iterator[Harness]:
    reset_backends()
    running = Harness(embedded_aws, tmp_path, isolation="process")
    yield running
    running.close()
    reset_backends()


def invoke(harness: Harness, function: str, event: dict[str, Any] | None = None) -> Any:
    response = harness.client("lambda").invoke(FunctionName=function,
                                                Payload=json.dumps(event or {}).encode())
    payload = json.loads(response["Payload"].read())
    if "FunctionError" in response:
        return {"error": payload}
    return payload


def test_an_environment_sees_exactly_its_variables_lambdas_and_its_role_credentials(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a function with one variable of its own, and a host variable it must not see
    monkeypatch.setenv("SHARDLINE_HOST_ONLY", "leak")
    harness.function("who", WHO_AM_I, prelude=False, environment={"SITE": "plant-a"},
                     MemorySize=256)

    # WHEN it is invoked and asks STS who it is
    reply = invoke(harness, "who", {"whoami": True})

    # THEN it sees its own variable and Lambda's, nothing of the host's
    environment = reply["environment"]
    assert set(environment) == LAMBDA_VARIABLES | {"SITE"}
    assert environment["SITE"] == "plant-a"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "who"
    assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert environment["AWS_REGION"] == "us-east-1"
    assert environment["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    # AND its credentials are a session of its execution role, from STS
    assert environment["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert reply["caller"] == "arn:aws:sts::123456789012:assumed-role/conformance/shardline-local"
    # AND the context carries its timeout and name
    assert 0 < reply["remaining_ms"] <= 3000
    assert reply["function_name"] == "who"


def test_init_runs_once_per_environment_and_a_warm_one_is_reused(harness: Harness) -> None:
    # GIVEN a function
    harness.function("warm", WHO_AM_I, prelude=False)

    # WHEN it is invoked three times, one after another
    replies = [invoke(harness, "warm") for _ in range(3)]

    # THEN one environment served them all, and its init ran once
    assert {r["pid"] for r in replies} == {replies[0]["pid"]} != {os.getpid()}
    assert [r["calls"] for r in replies] == [1, 2, 3]
    assert all(r["inits"] == 1 for r in replies)
    assert harness.runtime.environments("warm").started == 1


def test_a_timeout_ends_the_environment_and_the_next_invocation_starts_afresh(
        harness: Harness) -> None:
    # GIVEN a function with a 1 s timeout, warm
    harness.function("slow", WHO_AM_I, prelude=False, timeout=1)
    first = invoke(harness, "slow")

    # WHEN an invocation overruns the timeout
    timed_out = invoke(harness, "slow", {"sleep": 5})

    # THEN it fails as Lambda reports it
    assert timed_out["error"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out["error"]["errorMessage"]
    # AND the next invocation runs in a new environment, whose init runs again
    after = invoke(harness, "slow")
    assert after["pid"] != first["pid"]
    assert after["calls"] == 1
    assert harness.runtime.environments("slow").started == 2


def test_a_runtime_that_exits_fails_the_invocation_and_is_replaced(harness: Harness) -> None:
    # GIVEN a warm function
    harness.function("exits", WHO_AM_I, prelude=False)
    first = invoke(harness, "exits")

    # WHEN its process exits in the middle of an invocation
    failed = invoke(harness, "exits", {"exit": True})

    # THEN Lambda's Runtime.ExitError is reported, and a new environment serves the next
    assert failed["error"]["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in failed["error"]["errorMessage"]
    assert invoke(harness, "exits")["pid"] != first["pid"]


def test_an_import_error_is_reported_as_the_python_runtime_does(harness: Harness) -> None:
    # GIVEN a function whose module imports something its package does not hold
    harness.function("broken", BROKEN_IMPORT, prelude=False)

    # WHEN it is invoked
    failed = invoke(harness, "broken")

    # THEN the init error comes back as a function error
    assert failed["error"]["errorType"] == "Runtime.ImportModuleError"
    assert "a_module_that_is_not_deployed" in failed["error"]["errorMessage"]


def test_environments_run_side_by_side_up_to_the_reserved_concurrency(
        harness: Harness) -> None:
    # GIVEN a function reserved to 2 concurrent executions, and one with no reservation
    harness.function("capped", WHO_AM_I, prelude=False)
    harness.client("lambda").put_function_concurrency(FunctionName="capped",
                                                      ReservedConcurrentExecutions=2)
    harness.function("open", WHO_AM_I, prelude=False)

    # WHEN each is handed 3 slow invocations at once by the engine's runtime
    def run_three(function: str) -> list[Any]:
        results: list[Any] = [None] * 3

        def one(index: int) -> None:
            results[index] = harness.runtime.invoke(function, {"sleep": 0.5}).payload

        threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return results

    capped, unreserved = run_three("capped"), run_three("open")

    # THEN the capped one ran in at most 2 environments, the other in 3
    assert len({r["pid"] for r in capped}) == 2
    assert harness.runtime.environments("capped").started == 2
    assert len({r["pid"] for r in unreserved}) == 3


def test_output_goes_to_the_functions_own_log(harness: Harness) -> None:
    # GIVEN two functions
    harness.function("talker", WHO_AM_I, prelude=False)
    harness.function("quiet", WHO_AM_I, prelude=False)

    # WHEN one prints a line
    invoke(harness, "talker", {"print": "reading from dev-00042"})
    invoke(harness, "quiet")

    # THEN the line is in its log, not the other's
    logs = harness.work_dir / "logs"
    talker = (logs / "talker.log").read_text()
    assert "dev-00042" not in (logs / "quiet.log").read_text()
    # AND it sits between Lambda's START and END lines, with a REPORT of the cold start
    lines = talker.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("START RequestId: "))
    assert lines[start + 1] == "reading from dev-00042"
    assert lines[start + 2].startswith("END RequestId: ")
    assert lines[start + 3].startswith("REPORT RequestId: ")
    assert "Init Duration: " in lines[start + 3]
    assert "Max Memory Used: " in lines[start + 3]


def test_a_configuration_update_applies_to_new_environments(harness: Harness) -> None:
    # GIVEN a warm function with SITE=plant-a
    harness.function("updated", WHO_AM_I, prelude=False, environment={"SITE": "plant-a"})
    before = invoke(harness, "updated")
    harness.runtime.refresh_interval_s = 0.0

    # WHEN its environment variables are changed through the Lambda API
    harness.client("lambda").update_function_configuration(
        FunctionName="updated", Environment={"Variables": {"SITE": "plant-b"}})

    # THEN the next invocation runs in a new environment that sees the change
    after = invoke(harness, "updated")
    assert after["environment"]["SITE"] == "plant-b"
    assert after["pid"] != before["pid"]


SLOW_STAMPED = """
import os, time

def lambda_handler(event, context):
    started = time.time()
    time.sleep(1.0)
    return {"pid": os.getpid(), "started": started, "ended": time.time()}
"""


def test_async_events_run_side_by_side_in_real_time(harness: Harness) -> None:
    # GIVEN a function whose successes go to a queue, and an engine on the real clock
    harness.function("stamped", SLOW_STAMPED, prelude=False)
    url, queue_arn = harness.queue("stamped-successes")
    harness.client("lambda").put_function_event_invoke_config(
        FunctionName="stamped", DestinationConfig={"OnSuccess": {"Destination": queue_arn}})
    harness.engine.stop()
    live = Engine(harness.client, harness.runtime)
    attach_runtime(live.async_invoker.invoke_api)
    try:
        # WHEN three events are queued at once
        for _ in range(3):
            harness.client("lambda").invoke(FunctionName="stamped", InvocationType="Event",
                                            Payload=b"{}")
        live.start()
        deadline = time.monotonic() + 60
        while harness.queue_counts(url)["visible"] < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        live.stop()

    # THEN they ran in three environments at the same time
    responses = [record["responsePayload"] for record in harness.messages(url)]
    assert len(responses) == 3
    assert len({r["pid"] for r in responses}) == 3
    assert max(r["started"] for r in responses) < min(r["ended"] for r in responses)


@pytest.mark.parametrize("variables, fragment", [
    ({"AWS_REGION": "eu-west-1"}, "Reserved keys used in this request: AWS_REGION"),
    ({"AWS_ACCESS_KEY_ID": "AKIA", "_HANDLER": "x"},
     "Reserved keys used in this request: AWS_ACCESS_KEY_ID, _HANDLER"),
    ({"1ST": "x"}, "[a-zA-Z]([a-zA-Z0-9_])+"),
    ({"BIG": "x" * 4096}, "exceeded the 4KB limit"),
])
def test_an_environment_aws_refuses_is_refused(harness: Harness, variables: dict[str, str],
                                               fragment: str) -> None:
    # GIVEN a function
    harness.function("configured", WHO_AM_I, prelude=False)
    lambda_client = harness.client("lambda")

    # WHEN its environment is set to one that AWS refuses, at creation or update
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as created:
        harness.function("refused", WHO_AM_I, prelude=False, environment=variables)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as updated:
        lambda_client.update_function_configuration(
            FunctionName="configured", Environment={"Variables": variables})

    # THEN both are refused with AWS's reason, and nothing was stored
    assert fragment in str(created.value)
    assert fragment in str(updated.value)
    assert "refused" not in [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]]
