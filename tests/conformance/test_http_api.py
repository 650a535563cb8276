"""The local API Gateway serves an HTTP API as AWS does: payload format 2.0 events to the
route's integration (a function alias), the function's response mapped to HTTP, SigV4
and IAM on AWS_IAM routes, the stage's throttling, CORS preflights."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from botocore.credentials import Credentials

from shardline.local.api_sigv4 import INVALID_TOKEN, MISMATCH
from tests.conformance.harness import Harness
from tests.conformance.http_api_client import (
    ACCOUNT,
    http_api,
    invoke_statement,
    query_function,
    send,
    served,
    user_keys,
)
from tests.factories.http_api import http_api_event
from tests.support.http_api import REGION

ANSWER = """
def lambda_handler(event, context):
    seen(event)
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "bare":
        return [1, 2]
    if mode == "fail":
        raise RuntimeError("boom")
    return {"statusCode": 201, "headers": {"X-Answer": "42"}, "cookies": ["a=1"],
            "body": "made"}
"""


@pytest.fixture
def harness(iam_harness: Harness) -> Harness:
    return iam_harness


def _alias(harness: Harness) -> str:
    """The ``answer`` function's ``live`` alias, which the integration invokes."""
    harness.function("answer", ANSWER)
    lambda_client = harness.client("lambda")
    version = lambda_client.publish_version(FunctionName="answer")["Version"]
    return str(lambda_client.create_alias(FunctionName="answer", Name="live",
                                          FunctionVersion=version)["AliasArn"])


def test_the_integration_gets_a_payload_format_2_event(harness: Harness) -> None:
    # GIVEN an IAM-authorized GET /query route and a user allowed to invoke it
    api_id = http_api(harness, _alias(harness), routes={"GET /query": "AWS_IAM"})
    analyst = user_keys(harness, "analyst", invoke_statement(api_id))
    with served(harness) as server:
        # WHEN the user sends a signed request with a repeated parameter and a header
        reply = send(server.url, "/query?metric=a&metric=b&site=plant-a",
                     headers={"X-Custom": "yes"}, signer=analyst)
    assert reply.status == 201
    [event] = harness.seen("answer")
    # THEN the event has the fields and nesting AWS documents for payload 2.0
    documented = http_api_event("/query", query={"site": "plant-a"}, user_arn="arn")
    assert set(event) == set(documented)
    assert set(event["requestContext"]) == set(documented["requestContext"])
    assert set(event["requestContext"]["http"]) == set(documented["requestContext"]["http"])
    assert (set(event["requestContext"]["authorizer"]["iam"])
            == set(documented["requestContext"]["authorizer"]["iam"]))
    # AND repeated parameters are comma-joined, the raw query string kept as sent
    assert event["rawQueryString"] == "metric=a&metric=b&site=plant-a"
    assert event["queryStringParameters"] == {"metric": "a,b", "site": "plant-a"}
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /query"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/query"
    # AND header names are lower-cased; the context names the API, stage and caller
    assert event["headers"]["x-custom"] == "yes"
    assert all(name == name.lower() for name in event["headers"])
    context = event["requestContext"]
    assert (context["apiId"], context["accountId"], context["stage"]) == (
        api_id, ACCOUNT, "$default")
    assert context["http"]["method"] == "GET" and context["http"]["sourceIp"] == "127.0.0.1"
    assert context["authorizer"]["iam"]["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/analyst"
    assert context["authorizer"]["iam"]["accessKey"] == analyst.access_key
    assert isinstance(context["timeEpoch"], int) and context["time"].endswith("+0000")


def test_the_function_result_becomes_the_http_response(harness: Harness) -> None:
    # GIVEN an open route on a function answering by the `mode` parameter
    http_api(harness, _alias(harness), routes={"GET /query": "NONE"})
    with served(harness) as server:
        # WHEN it returns a response object, a bare JSON value, and raises
        made = send(server.url, "/query")
        bare = send(server.url, "/query?mode=bare")
        failed = send(server.url, "/query?mode=fail")
    # THEN the object's status, headers, cookies and body are the response's
    assert (made.status, made.headers["x-answer"], made.body) == (201, "42", b"made")
    assert made.headers["set-cookie"] == "a=1"
    # AND a bare JSON value is a 200 application/json body
    assert bare.status == 200 and bare.headers["content-type"] == "application/json"
    assert json.loads(bare.body) == [1, 2]
    # AND a function error is API Gateway's 500
    assert failed.status == 500 and failed.json() == {"message": "Internal Server Error"}


def test_an_unsigned_request_to_an_iam_route_is_forbidden(harness: Harness) -> None:
    # GIVEN an IAM-authorized route, IAM enforced
    http_api(harness, _alias(harness), routes={"GET /query": "AWS_IAM"})
    with served(harness) as server:
        # WHEN a request comes without a signature
        reply = send(server.url, "/query")
        missing = send(server.url, "/elsewhere")
    # THEN API Gateway refuses it, and the function is never invoked
    assert reply.status == 403 and reply.json() == {"message": "Forbidden"}
    assert harness.seen("answer") == []
    # AND a path no route matches is a 404
    assert missing.status == 404 and missing.json() == {"message": "Not Found"}


def test_a_bad_signature_or_an_unknown_key_is_refused(harness: Harness) -> None:
    # GIVEN an IAM route and a user allowed to invoke it
    api_id = http_api(harness, _alias(harness), routes={"GET /query": "AWS_IAM"})
    analyst = user_keys(harness, "analyst", invoke_statement(api_id))
    forged = Credentials(analyst.access_key, "not-the-secret")
    stranger = Credentials("AKIAUNKNOWN000000000", "whatever")
    with served(harness) as server:
        # WHEN it is signed with the wrong secret, by a key nobody issued, for another region
        wrong_secret = send(server.url, "/query", signer=forged)
        unknown_key = send(server.url, "/query", signer=stranger)
        wrong_region = send(server.url, "/query", signer=analyst, region="eu-west-1")
        right = send(server.url, "/query", signer=analyst)
    # THEN each is a 403 with the message AWS gives, and only the right one gets through
    assert wrong_secret.status == 403 and wrong_secret.json() == {"message": MISMATCH}
    assert unknown_key.status == 403 and unknown_key.json() == {"message": INVALID_TOKEN}
    assert wrong_region.status == 403
    assert right.status == 201
    assert len(harness.seen("answer")) == 1


def test_a_caller_whose_policies_do_not_allow_invoke_is_forbidden(harness: Harness) -> None:
    # GIVEN a user with no policy, one allowed another route only, one explicitly denied
    api_id = http_api(harness, _alias(harness), routes={"GET /query": "AWS_IAM"})
    nobody = user_keys(harness, "nobody")
    elsewhere = user_keys(harness, "elsewhere", invoke_statement(api_id, "GET/other"))
    denied = user_keys(harness, "denied", invoke_statement(api_id),
                       {**invoke_statement(api_id), "Effect": "Deny"})
    with served(harness) as server:
        # WHEN each sends a correctly signed request
        replies = [send(server.url, "/query", signer=keys) for keys in (nobody, elsewhere, denied)]
    # THEN each is forbidden, and the function never runs
    assert [(reply.status, reply.json()) for reply in replies] == [
        (403, {"message": "Forbidden"})] * 3
    assert harness.seen("answer") == []


def test_without_iam_enforcement_unsigned_requests_pass(harness: Harness) -> None:
    # GIVEN an IAM route on a stack started with --no-iam
    http_api(harness, _alias(harness), routes={"GET /query": "AWS_IAM"})
    with served(harness, iam=False) as server:
        # WHEN an unsigned request comes
        reply = send(server.url, "/query")
    # THEN it reaches the function
    assert reply.status == 201 and len(harness.seen("answer")) == 1


def test_requests_over_the_stage_burst_are_throttled(harness: Harness) -> None:
    # GIVEN a stage allowing a burst of 2 and a trickle of one request per 1000 s
    http_api(harness, _alias(harness), routes={"GET /query": "NONE"}, burst=2, rate=0.001)
    with served(harness) as server:
        # WHEN three requests come at once
        replies = [send(server.url, "/query") for _ in range(3)]
    # THEN the third is API Gateway's 429, and never reaches the function
    assert [reply.status for reply in replies] == [201, 201, 429]
    assert replies[2].json() == {"message": "Too Many Requests"}
    assert len(harness.seen("answer")) == 2


def test_each_route_has_its_own_throttle_and_route_settings_override_the_stage(
        harness: Harness) -> None:
    # GIVEN a stage allowing a burst of 2 per route, and GET / limited to a burst of 1
    http_api(harness, _alias(harness), routes={"GET /": "NONE", "GET /query": "NONE"},
             burst=2, rate=0.001, route_limits={"GET /": (1, 0.001)})
    with served(harness) as server:
        # WHEN GET / is asked twice, then GET /query twice, at once
        replies = [send(server.url, path) for path in ("/", "/", "/query", "/query")]
    # THEN GET / is throttled after one request, and GET /query still has its own two
    assert [reply.status for reply in replies] == [201, 429, 201, 201]


def test_cors_preflights_are_answered_for_the_configured_origins(harness: Harness) -> None:
    # GIVEN an API whose CORS configuration allows one origin
    http_api(harness, _alias(harness), routes={"GET /query": "AWS_IAM"}, cors={
        "AllowOrigins": ["https://analytics.example.com"], "AllowMethods": ["GET"],
        "AllowHeaders": ["authorization", "x-amz-date"], "MaxAge": 300})
    preflight = {"Access-Control-Request-Method": "GET"}
    with served(harness) as server:
        # WHEN browsers of that origin and of another send a preflight (unsigned)
        allowed = send(server.url, "/query", method="OPTIONS",
                       headers={"Origin": "https://analytics.example.com", **preflight})
        other = send(server.url, "/query", method="OPTIONS",
                     headers={"Origin": "https://evil.example.com", **preflight})
        # AND the allowed origin then sends its request (signed by the administrator)
        real = send(server.url, "/query", headers={"Origin": "https://analytics.example.com"},
                    signer=Credentials("test", "test"))
    # THEN API Gateway answers the allowed preflight itself with the configured headers
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == "https://analytics.example.com"
    assert allowed.headers["access-control-allow-methods"] == "GET"
    assert allowed.headers["access-control-allow-headers"] == "authorization,x-amz-date"
    assert allowed.headers["access-control-max-age"] == "300"
    # AND gives the other origin no CORS headers (its browser refuses)
    assert other.status == 204 and "access-control-allow-origin" not in other.headers
    # AND the preflights never reach the function; the real request gets the origin header
    assert real.status == 201
    assert real.headers["access-control-allow-origin"] == "https://analytics.example.com"
    assert len(harness.seen("answer")) == 1


def test_the_query_function_answers_a_malformed_query_with_a_400(harness: Harness,
                                                                 tmp_path: Path) -> None:
    # GIVEN the query Lambda's own package behind an IAM route, as Terraform deploys it
    http_api(harness, query_function(harness, tmp_path, "aggregates"),
             routes={"GET /query": "AWS_IAM"})
    with served(harness) as server:
        # WHEN a signed request asks a site for per-minute data, or misspells a parameter
        per_minute = send(server.url, "/query?site=plant-a&metric=temperature_c&resolution=1m",
                          signer=Credentials("test", "test"))
        misspelt = send(server.url, "/query?site=plant-a&metric=temperature_c&sinse=1h",
                        signer=Credentials("test", "test"))
    # THEN each is a 400 whose JSON message says what is wrong
    assert per_minute.status == 400 and per_minute.headers["content-type"] == "application/json"
    assert "no per-minute data" in per_minute.json()["message"]
    assert misspelt.status == 400 and "unknown parameter 'sinse'" in misspelt.json()["message"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_aws_sigv4_is_accepted(harness: Harness) -> None:
    # GIVEN an IAM route and a user allowed to invoke it
    api_id = http_api(harness, _alias(harness), routes={"GET /query": "AWS_IAM"})
    analyst = user_keys(harness, "analyst", invoke_statement(api_id))
    with served(harness) as server:
        # WHEN curl signs the request itself (its own SigV4; parameters in alphabetical
        # order and the comma encoded, since older curl signs the query string as written,
        # which AWS refuses too: curl issue #9717)
        completed = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
             "--aws-sigv4", f"aws:amz:{REGION}:execute-api",
             "--user", f"{analyst.access_key}:{analyst.secret_key}",
             f"{server.url}/query?metric=temperature_c%2Chumidity_pct&site=plant-a"],
            capture_output=True, text=True, timeout=30, check=False)
        # AND with the wrong secret
        refused = subprocess.run(
            ["curl", "-s", "--aws-sigv4", f"aws:amz:{REGION}:execute-api",
             "--user", f"{analyst.access_key}:wrong", f"{server.url}/query"],
            capture_output=True, text=True, timeout=30, check=False)
    # THEN the signed request reaches the function, with the parameters as sent
    assert completed.stdout == "201"
    [event] = harness.seen("answer")
    assert event["queryStringParameters"]["metric"] == "temperature_c,humidity_pct"
    # AND the wrongly signed one is refused with AWS's message
    assert json.loads(refused.stdout) == {"message": MISMATCH}
