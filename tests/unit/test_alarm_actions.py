"""CloudWatch may notify a topic only when the topic's policy lets
cloudwatch.amazonaws.com publish and, for a topic under a customer managed key, the key's
policy lets it use the key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from shardline.local.alarm_actions import publish_refusal
from shardline.local.embedded import EmbeddedAws
from shardline.local.kms_keys import KeyPolicies

ACCOUNT = "123456789012"
ALARM_ARN = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:failures-depth"


@pytest.fixture
def clients(embedded_aws: EmbeddedAws) -> Callable[[str], Any]:
    return lambda service: boto3.client(service, endpoint_url=embedded_aws.endpoint_url,
                                        region_name="us-east-1")


def _statement(principal: dict[str, str], actions: list[str], resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": actions, "Resource": resource}


def _topic(clients: Callable[[str], Any], service: str, key_id: str | None = None) -> str:
    attributes = {"KmsMasterKeyId": key_id} if key_id else {}
    arn = clients("sns").create_topic(Name=f"alarms-{uuid.uuid4().hex[:8]}",
                                      Attributes=attributes)["TopicArn"]
    policy = {"Version": "2012-10-17",
              "Statement": [_statement({"Service": service}, ["sns:Publish"], arn)]}
    clients("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy",
                                        AttributeValue=json.dumps(policy))
    return arn


def _key(clients: Callable[[str], Any], services: list[str]) -> str:
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    statements = [_statement(root, ["kms:*"], "*")] + [
        _statement({"Service": s}, ["kms:Decrypt", "kms:GenerateDataKey*"], "*")
        for s in services]
    key = clients("kms").create_key(Policy=json.dumps({"Version": "2012-10-17",
                                                       "Statement": statements}))
    return str(key["KeyMetadata"]["Arn"])


def test_a_topic_whose_policy_and_key_allow_cloudwatch_is_notified(clients) -> None:
    # GIVEN a topic CloudWatch may publish to, under a key CloudWatch may use
    topic = _topic(clients, "cloudwatch.amazonaws.com", _key(clients, ["cloudwatch.amazonaws.com"]))
    # WHEN CloudWatch would notify it THEN nothing refuses
    assert publish_refusal(topic, ALARM_ARN, KeyPolicies()) is None


def test_a_topic_policy_without_cloudwatch_refuses_the_notification(clients) -> None:
    topic = _topic(clients, "events.amazonaws.com")
    refused = publish_refusal(topic, ALARM_ARN, KeyPolicies())
    assert refused is not None and refused.startswith("sns:Publish")


def test_a_key_cloudwatch_may_not_use_refuses_the_notification(clients) -> None:
    # GIVEN a topic CloudWatch may publish to, under a key whose policy names only SNS
    topic = _topic(clients, "cloudwatch.amazonaws.com", _key(clients, ["sns.amazonaws.com"]))
    # WHEN CloudWatch would notify it
    refused = publish_refusal(topic, ALARM_ARN, KeyPolicies())
    # THEN the key policy refuses it, as AWS KMS would
    assert refused is not None and refused.startswith("kms:GenerateDataKey")
