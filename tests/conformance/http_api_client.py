"""A client of the local HTTP API for the conformance tests: an HTTP API built through
the embedded API Gateway v2 as Terraform builds it, served on a free port, and requests
sent over real HTTP, signed with SigV4 as AWS SDKs sign them (botocore's signer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.credentials import Credentials

from shardline import packaging
from shardline.local.api_server import ApiServer, serve_http_api
from tests.conformance.harness import Harness
from tests.support.http_api import REGION, Reply, send

ACCOUNT = "123456789012"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def http_api(harness: Harness, integration_uri: str, *, routes: dict[str, str],
             burst: int = 100, rate: float = 100.0,
             cors: dict[str, Any] | None = None,
             route_limits: dict[str, tuple[int, float]] | None = None) -> str:
    """Create an HTTP API whose ``routes`` (route key → authorization type) proxy to
    ``integration_uri`` with payload 2.0, with a throttled $default stage (``burst`` and
    ``rate`` for every route, but route key → (burst, rate) in ``route_limits``); its id."""
    apigw = harness.client("apigatewayv2")
    api = apigw.create_api(Name="query-api", ProtocolType="HTTP",
                           **({"CorsConfiguration": cors} if cors else {}))
    integration = apigw.create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationMethod="POST",
        IntegrationUri=integration_uri, PayloadFormatVersion="2.0")
    for route_key, authorization in routes.items():
        apigw.create_route(ApiId=api["ApiId"], RouteKey=route_key,
                           AuthorizationType=authorization,
                           Target=f"integrations/{integration['IntegrationId']}")
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True,
                       DefaultRouteSettings={"ThrottlingBurstLimit": burst,
                                             "ThrottlingRateLimit": rate},
                       RouteSettings={key: {"ThrottlingBurstLimit": limits[0],
                                            "ThrottlingRateLimit": limits[1]}
                                      for key, limits in (route_limits or {}).items()})
    return str(api["ApiId"])


@contextmanager
def served(harness: Harness, *, iam: bool = True) -> Iterator[ApiServer]:
    """The embedded API Gateway's HTTP API on a free localhost port."""
    server = serve_http_api(
        harness.client("apigatewayv2"),
        lambda arn, payload: harness.invoker.invoke_api(arn, payload, "RequestResponse"),
        account=ACCOUNT, region=REGION, iam_enforced=lambda: iam, port=0)
    assert server is not None
    try:
        yield server
    finally:
        server.stop()


def invoke_statement(api_id: str, route: str = "GET/query") -> dict[str, str]:
    """An IAM statement allowing ``execute-api:Invoke`` of ``route`` (``METHOD/path``) of
    the API, in any stage."""
    return {"Effect": "Allow", "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/{route}"}


def query_function(harness: Harness, work_dir: Path, table: str,
                   **variables: str) -> str:
    """The query Lambda's own package (``make package``'s zip) as a function named
    ``query`` reading ``table``, with ``variables`` added to its environment; its ARN."""
    zip_path = work_dir / "query.zip"
    packaging.build_zip(PROJECT_ROOT, packaging.FUNCTIONS["query"], zip_path)
    function = harness.client("lambda").create_function(
        FunctionName="query", Runtime="python3.12", Role=harness._role, Timeout=10,
        Handler="lambdas.query.handler.lambda_handler", Code={"ZipFile": zip_path.read_bytes()},
        Environment={"Variables": {"AGGREGATES_TABLE": table,
                                   "POWERTOOLS_TRACE_DISABLED": "true", **variables}})
    return str(function["FunctionArn"])


def user_keys(harness: Harness, name: str, *statements: dict[str, Any]) -> Credentials:
    """An IAM user with ``statements`` as its inline policy, and its access key."""
    iam = harness.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="api", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


__all__ = ["ACCOUNT", "REGION", "Reply", "http_api", "invoke_statement", "query_function",
           "send", "served", "user_keys"]
