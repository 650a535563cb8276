"""Synchronous Invoke through the Lambda API (AWS-SEMANTICS.md, "Lambda invocation"):
the handler's JSON back, function errors as the Python runtime reports them, timeouts,
the function's own environment, DryRun, and reserved concurrency."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conformance.harness import Harness

ECHO = """
def lambda_handler(event, context):
    seen(event)
    return {"greeting": "hello " + event["device_id"], "requestId": context.aws_request_id}
"""

OFFLINE = """
class DeviceOffline(Exception):
    pass

def lambda_handler(event, context):
    raise DeviceOffline("device " + event["device_id"] + " is offline")
"""

SLOW = """
import time

def lambda_handler(event, context):
    time.sleep(2)
    return "finished"
"""

OWN_ENVIRONMENT = """
def lambda_handler(event, context):
    return {"site": os.environ.get("SITE"), "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
"""

RETURNS_A_SET = """
def lambda_handler(event, context):
    return {"readings": {21.5}}
"""

# Calls itself synchronously once, to hold one unit of concurrency while asking for another.
REENTRANT = """
import boto3
from botocore.config import Config

def lambda_handler(event, context):
    if event.get("inner"):
        return "inner ran"
    client = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(retries={"total_max_attempts": 1}))
    try:
        response = client.invoke(FunctionName=context.function_name,
                                 Payload=json.dumps({"inner": True}))
    except client.exceptions.TooManyRequestsException as exc:
        return {"inner": exc.response["Error"]["Code"], "reason": exc.response.get("Reason")}
    return {"inner": json.loads(response["Payload"].read())}
"""


def invoke(harness: Harness, function: str, payload: Any) -> tuple[dict[str, Any], Any]:
    response = harness.client("lambda").invoke(FunctionName=function,
                                               Payload=json.dumps(payload))
    return response, json.loads(response["Payload"].read())


def test_request_response_returns_the_handlers_json(harness: Harness) -> None:
    # GIVEN a function that answers with what it was sent
    harness.function("echo", ECHO)

    # WHEN it is invoked synchronously through the Lambda API
    response, body = invoke(harness, "echo", {"device_id": "dev-00042"})

    # THEN the caller gets the handler's JSON, no function error, and one logged invocation
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    (logged,) = harness.invocations("echo")
    assert body == {"greeting": "hello dev-00042", "requestId": logged.request_id}
    assert harness.seen("echo") == [{"device_id": "dev-00042"}]
    assert (logged.invocation_type, logged.outcome, logged.attempt) == (
        "RequestResponse", "ok", 1)


def test_a_raising_handler_is_an_unhandled_error_with_the_exception_type(
        harness: Harness) -> None:
    # GIVEN a handler that raises its own exception type
    harness.function("offline", OFFLINE)

    # WHEN it is invoked synchronously
    response, body = invoke(harness, "offline", {"device_id": "dev-00007"})

    # THEN the call succeeds with FunctionError Unhandled and the runtime's error document,
    # whose stack trace holds the handler's frames only
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    (logged,) = harness.invocations("offline")
    stack_trace = body.pop("stackTrace")
    assert body == {"errorMessage": "device dev-00007 is offline",
                    "errorType": "DeviceOffline", "requestId": logged.request_id}
    assert len(stack_trace) == 1
    assert re.fullmatch(
        r'  File ".*/handler\.py", line \d+, in lambda_handler\n'
        r'    raise DeviceOffline\("device " \+ event\["device_id"\] \+ " is offline"\)\n',
        stack_trace[0])
    assert (logged.outcome, logged.error_type) == ("error", "DeviceOffline")


def test_a_handler_over_its_timeout_fails_with_sandbox_timedout(harness: Harness) -> None:
    # GIVEN a function with Timeout=1 whose handler takes 2 s
    harness.function("slow", SLOW, timeout=1)

    # WHEN it is invoked synchronously
    response, body = invoke(harness, "slow", {})

    # THEN the invocation fails as a timed-out Lambda does
    assert response["FunctionError"] == "Unhandled"
    (logged,) = harness.invocations("slow")
    assert body == {"errorMessage": f"RequestId: {logged.request_id} Error: Task timed out "
                                    "after 1.00 seconds",
                    "errorType": "Sandbox.Timedout"}


def test_environment_variables_are_the_functions_own(harness: Harness) -> None:
    # GIVEN two functions with the same code, only one of which sets SITE
    harness.function("plant-a", OWN_ENVIRONMENT, environment={"SITE": "plant-a"})
    harness.function("no-site", OWN_ENVIRONMENT)

    # WHEN each is invoked
    _, with_site = invoke(harness, "plant-a", {})
    _, without = invoke(harness, "no-site", {})

    # THEN each handler sees its own variables, and the caller's process none of them
    assert with_site == {"site": "plant-a", "function": "plant-a"}
    assert without == {"site": None, "function": "no-site"}
    assert "SITE" not in os.environ


def test_a_response_that_is_not_json_is_a_marshal_error(harness: Harness) -> None:
    # GIVEN a handler returning a set, which JSON cannot hold
    harness.function("bad-response", RETURNS_A_SET)

    # WHEN it is invoked
    response, body = invoke(harness, "bad-response", {})

    # THEN the runtime reports Runtime.MarshalError
    assert response["FunctionError"] == "Unhandled"
    (logged,) = harness.invocations("bad-response")
    assert body == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": logged.request_id,
        "stackTrace": [],
    }


def test_dry_run_and_malformed_payloads_run_nothing(harness: Harness) -> None:
    # GIVEN a function
    harness.function("echo", ECHO)
    lambda_client = harness.client("lambda")

    # WHEN it is invoked with DryRun, and with a payload that is not JSON
    dry_run = lambda_client.invoke(FunctionName="echo", InvocationType="DryRun",
                                   Payload=json.dumps({"device_id": "dev-1"}))
    with pytest.raises(ClientError) as malformed:
        lambda_client.invoke(FunctionName="echo", Payload=b"{not json")

    # THEN DryRun answers 204, the malformed request is rejected, and the handler never ran
    assert dry_run["StatusCode"] == 204
    assert malformed.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert malformed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert harness.seen("echo") == []
    assert harness.invocations("echo") == []


def test_reserved_concurrency_zero_throttles_synchronous_invocations(harness: Harness) -> None:
    # GIVEN a function whose reserved concurrency is 0
    harness.function("echo", ECHO)
    harness.client("lambda").put_function_concurrency(FunctionName="echo",
                                                      ReservedConcurrentExecutions=0)
    no_retries = boto3.client("lambda", endpoint_url=harness.aws.endpoint_url,
                              region_name="us-east-1", aws_access_key_id="test",
                              aws_secret_access_key="test",
                              config=Config(retries={"total_max_attempts": 1}))

    # WHEN it is invoked synchronously
    with pytest.raises(ClientError) as throttled:
        no_retries.invoke(FunctionName="echo", Payload=json.dumps({"device_id": "dev-1"}))

    # THEN the caller gets TooManyRequestsException (429) and the handler does not run
    error = throttled.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert harness.seen("echo") == []
    assert [i.outcome for i in harness.invocations("echo")] == ["throttled"]


def test_reserved_concurrency_caps_invocations_in_flight(harness: Harness) -> None:
    # GIVEN a function with reserved concurrency 1 that invokes itself synchronously
    harness.function("reentrant", REENTRANT, environment={"ENDPOINT": harness.aws.endpoint_url})
    lambda_client = harness.client("lambda")
    lambda_client.put_function_concurrency(FunctionName="reentrant",
                                           ReservedConcurrentExecutions=1)

    # WHEN it runs, holding its one unit of concurrency, the inner call is throttled
    _, capped = invoke(harness, "reentrant", {})

    # AND with 2 reserved, the inner call runs
    lambda_client.put_function_concurrency(FunctionName="reentrant",
                                           ReservedConcurrentExecutions=2)
    _, uncapped = invoke(harness, "reentrant", {})

    # THEN
    assert capped == {"inner": "TooManyRequestsException",
                      "reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
    assert uncapped == {"inner": "inner ran"}
    assert [i.outcome for i in harness.invocations("reentrant")] == [
        "throttled", "ok", "ok", "ok"]
