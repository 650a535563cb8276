"""What IAM/KMS enforcement costs per request in the embedded AWS.

One embedded AWS; a role allowed ``dynamodb:GetItem`` on one table (customer managed key,
so each call also evaluates the key policy) and ``kinesis:DescribeStreamSummary``. The
same request loops run, interleaved in rounds, with enforcement off and on; the figure is
the median per-request time of each, and the overhead in microseconds and percent. On a
shared machine that difference drowns in noise, so the layer is also timed alone: a
captured signed GetItem fed to it 2,000 times in front of a no-op app (identity lookup,
parsing, policy and key-policy evaluation).

Last line: one JSON object, e.g.
``{"bench": "authorization", "off_us": 2100, "on_us": 2250, "overhead_us": 150, ...}``.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shardline.local.credentials import RoleSessions
from shardline.local.embedded import LOCAL_ACCOUNT_ID, EmbeddedAws

REGION = "us-east-1"
ROUNDS = 5
CALLS_PER_ROUND = 200


def _admin(aws: EmbeddedAws, service: str) -> Any:
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def _setup(aws: EmbeddedAws) -> str:
    root = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:root"
    key = _admin(aws, "kms").create_key(Policy=json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}]}))
    key_arn = key["KeyMetadata"]["Arn"]
    _admin(aws, "dynamodb").create_table(
        TableName="bench", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn})
    iam = _admin(aws, "iam")
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps({
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    table_arn = f"arn:aws:dynamodb:{REGION}:{LOCAL_ACCOUNT_ID}:table/bench"
    iam.put_role_policy(RoleName="bench", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
             "Resource": [table_arn, f"{table_arn}/index/*"]},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
            {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}]}))
    return str(role)


def _round(client: Any) -> float:
    started = time.perf_counter()
    for _ in range(CALLS_PER_ROUND):
        client.get_item(TableName="bench", Key={"PK": {"S": "x"}})
    return (time.perf_counter() - started) / CALLS_PER_ROUND


def _layer_alone(aws: EmbeddedAws, client: Any, calls: int = 2000) -> float:
    """Seconds the layer itself spends per request (a captured GetItem, a no-op app)."""
    layer = aws.authorization
    assert layer is not None
    captured: dict[str, Any] = {}
    forward = layer.app

    def capture(environ: dict[str, Any], start_response: Any) -> Any:
        captured["environ"] = dict(environ)
        captured["body"] = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(captured["body"])
        return forward(environ, start_response)

    layer.app = capture
    client.get_item(TableName="bench", Key={"PK": {"S": "x"}})
    layer.app = lambda environ, start_response: [b""]
    try:
        started = time.perf_counter()
        for _ in range(calls):
            environ = dict(captured["environ"], **{"wsgi.input": io.BytesIO(captured["body"])})
            layer(environ, lambda *a: None)
        return (time.perf_counter() - started) / calls
    finally:
        layer.app = forward


def main() -> None:
    aws = EmbeddedAws(port=0)
    aws.start()
    try:
        role = _setup(aws)
        sessions = RoleSessions(_admin(aws, "sts"), aws.endpoint_url, REGION)
        client = sessions.client(role, "dynamodb")
        layer = aws.authorization
        assert layer is not None
        off, on = [], []
        _round(client)  # warm up
        for _ in range(ROUNDS):
            layer.disable()
            off.append(_round(client))
            layer.enable()
            on.append(_round(client))
        alone_us = _layer_alone(aws, client) * 1e6
    finally:
        aws.stop()
    off_us, on_us = statistics.median(off) * 1e6, statistics.median(on) * 1e6
    print(json.dumps({"bench": "authorization", "calls": ROUNDS * CALLS_PER_ROUND,
                      "off_us": round(off_us), "on_us": round(on_us),
                      "overhead_us": round(on_us - off_us),
                      "overhead_pct": round(100 * (on_us - off_us) / off_us, 1),
                      "layer_alone_us": round(alone_us)}))


if __name__ == "__main__":
    main()
