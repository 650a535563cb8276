"""Enforcement for the archive's and the alerts' resources in the embedded AWS: an S3
object written or read with SSE-KMS under a customer managed key, and a publish to an SNS
topic encrypted with one, need the caller to be allowed to use the key through that
service (key policy + IAM), as on AWS. SNS's own delivery to a subscribed queue is decided
by the queue policy (principal sns.amazonaws.com, aws:SourceArn = the topic) and, for a
queue under a customer managed key, by that key's policy; the topic's key plays no part.
"""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.unit.test_authorization import ACCOUNT, REGION, Aws, _allow, _error, aws

__all__ = ["aws"]  # the fixture, imported for pytest


def _bucket(aws: Aws, default_key: str | None = None) -> str:
    name = f"b-{uuid.uuid4().hex[:8]}"
    s3 = aws.admin("s3")
    s3.create_bucket(Bucket=name)
    if default_key:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                   "KMSMasterKeyID": default_key},
            "BucketKeyEnabled": True}]})
    return name


def _objects(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}/*"


def test_a_put_into_a_bucket_with_a_cmk_default_needs_generate_data_key(aws: Aws) -> None:
    # GIVEN a bucket whose default encryption is a customer managed key (with a bucket key)
    key = aws.key("s3")
    bucket = _bucket(aws, default_key=key)
    without = aws.as_role(aws.role(_allow("s3:PutObject", _objects(bucket))), "s3")
    with_key = aws.as_role(aws.role(
        _allow("s3:PutObject", _objects(bucket)),
        _allow("kms:GenerateDataKey", key,
               Condition={"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}})),
        "s3")
    # WHEN both put an object without naming a key THEN only the one allowed a data key
    # through S3 succeeds (kms:Decrypt is not needed for a single-part put)
    with_key.put_object(Bucket=bucket, Key="raw/a.jsonl.gz", Body=b"x")
    with pytest.raises(ClientError) as denied:
        without.put_object(Bucket=bucket, Key="raw/b.jsonl.gz", Body=b"x")
    code, status, message = _error(denied)
    assert (code, status) == ("AccessDenied", 403) and "kms:GenerateDataKey" in message


def test_a_put_naming_its_key_needs_that_key(aws: Aws) -> None:
    # GIVEN a bucket without default encryption and a role allowed one key only
    allowed_key, other_key = aws.key("s3"), aws.key("s3")
    bucket = _bucket(aws)
    s3 = aws.as_role(aws.role(_allow("s3:PutObject", _objects(bucket)),
                              _allow("kms:GenerateDataKey", allowed_key)), "s3")
    # WHEN it puts objects with SSE-KMS naming each key THEN only its key works
    s3.put_object(Bucket=bucket, Key="a", Body=b"x", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=allowed_key)
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=bucket, Key="b", Body=b"x", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=other_key)
    assert _error(denied)[0] == "AccessDenied"
    # AND SSE-S3 or the AWS managed aws/s3 key need no permission on a customer key
    s3.put_object(Bucket=bucket, Key="c", Body=b"x", ServerSideEncryption="AES256")
    s3.put_object(Bucket=bucket, Key="d", Body=b"x", ServerSideEncryption="aws:kms")


def test_a_tls_only_bucket_policy_lets_requests_through_and_a_plain_deny_does_not(
        aws: Aws) -> None:
    # GIVEN a bucket whose policy denies every request not made over TLS
    bucket = _bucket(aws)
    s3 = aws.admin("s3")
    deny = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", _objects(bucket)]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17",
        "Statement": [{**deny, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    writer = aws.as_role(aws.role(_allow(["s3:PutObject", "s3:GetObject"], _objects(bucket))),
                         "s3")
    # WHEN a role allowed to write does so (requests here stand for TLS ones)
    writer.put_object(Bucket=bucket, Key="raw/a", Body=b"x")
    # THEN it can, and so can its read
    assert writer.get_object(Bucket=bucket, Key="raw/a")["Body"].read() == b"x"
    # AND an unconditional deny for everyone still denies
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17",
                                                           "Statement": [deny]}))
    with pytest.raises(ClientError):
        writer.put_object(Bucket=bucket, Key="raw/b", Body=b"x")


def test_reading_an_sse_kms_object_needs_decrypt(aws: Aws) -> None:
    # GIVEN an object stored under a customer managed key
    key = aws.key("s3")
    bucket = _bucket(aws, default_key=key)
    aws.admin("s3").put_object(Bucket=bucket, Key="raw/a.jsonl.gz", Body=b"x")
    reader = aws.as_role(aws.role(_allow("s3:GetObject", _objects(bucket)),
                                  _allow("kms:Decrypt", key)), "s3")
    no_key = aws.as_role(aws.role(_allow("s3:GetObject", _objects(bucket))), "s3")
    # WHEN both read it THEN only the one allowed kms:Decrypt gets the bytes
    assert reader.get_object(Bucket=bucket, Key="raw/a.jsonl.gz")["Body"].read() == b"x"
    with pytest.raises(ClientError) as denied:
        no_key.get_object(Bucket=bucket, Key="raw/a.jsonl.gz")
    assert "kms:Decrypt" in _error(denied)[2]


def _topic(aws: Aws, key: str | None = None) -> str:
    attributes = {"KmsMasterKeyId": key} if key else {}
    return str(aws.admin("sns").create_topic(Name=f"t-{uuid.uuid4().hex[:8]}",
                                             Attributes=attributes)["TopicArn"])


def _subscribed_queue(aws: Aws, topic: str, *, admits: str | None,
                      attributes: dict[str, str] | None = None) -> str:
    """A queue subscribed to ``topic`` (raw delivery) whose policy lets SNS send on behalf
    of the topic ``admits`` (None: no policy); returns its URL."""
    name = f"q-{uuid.uuid4().hex[:8]}"
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    attributes = dict(attributes or {"SqsManagedSseEnabled": "true"})
    if admits:
        attributes["Policy"] = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": admits}}}]})
    url = aws.admin("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    aws.admin("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                               Attributes={"RawMessageDelivery": "true"})
    return str(url)


def _bodies(aws: Aws, url: str) -> list[str]:
    messages = aws.admin("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1)
    return [m["Body"] for m in messages.get("Messages", [])]


def test_publishing_to_a_cmk_topic_needs_the_key_and_reaches_an_admitting_queue(
        aws: Aws) -> None:
    # GIVEN a topic encrypted with a customer managed key, and a queue subscribed to it
    # whose policy admits SNS on behalf of that topic
    key = aws.key("sns")
    topic = _topic(aws, key)
    url = _subscribed_queue(aws, topic, admits=topic)
    publisher = aws.as_role(aws.role(_allow("sns:Publish", topic),
                                     _allow(["kms:GenerateDataKey*", "kms:Decrypt"], key)),
                            "sns")
    no_key = aws.as_role(aws.role(_allow("sns:Publish", topic)), "sns")
    # WHEN a publisher without the key publishes THEN SNS refuses it
    with pytest.raises(ClientError) as denied:
        no_key.publish(TopicArn=topic, Message="refused")
    assert _error(denied)[0] == "KMSAccessDenied"
    # AND WHEN the publisher allowed the key publishes THEN the message reaches the queue
    publisher.publish(TopicArn=topic, Message='{"event": "raised"}')
    assert _bodies(aws, url) == ['{"event": "raised"}']


def test_sns_delivers_only_where_the_queue_policy_admits_the_topic(aws: Aws) -> None:
    # GIVEN a topic, a queue without a policy and a queue admitting another topic
    topic = _topic(aws)
    no_policy = _subscribed_queue(aws, topic, admits=None)
    other_topic = _subscribed_queue(aws, topic, admits=_topic(aws))
    # WHEN a message is published
    aws.admin("sns").publish(TopicArn=topic, Message="m")
    # THEN neither queue gets it, and the refusals are recorded with SNS as the caller
    assert _bodies(aws, no_policy) == [] and _bodies(aws, other_topic) == []
    layer = aws.aws.authorization
    assert layer is not None
    refused = [d for d in layer.denials() if d.caller == "sns.amazonaws.com"]
    assert len(refused) == 2 and {d.action for d in refused} == {"sqs:SendMessage"}


def test_a_cmk_queue_needs_its_key_policy_to_admit_sns(aws: Aws) -> None:
    # GIVEN a queue admitting the topic but encrypted with a key whose policy only
    # delegates to the account's IAM (no IAM policy applies to a service)
    topic = _topic(aws)
    url = _subscribed_queue(aws, topic, admits=topic,
                            attributes={"KmsMasterKeyId": aws.key("sqs")})
    # WHEN a message is published THEN SNS cannot deliver it
    aws.admin("sns").publish(TopicArn=topic, Message="m")
    assert _bodies(aws, url) == []
    # AND WHEN the queue's key admits SNS THEN it can
    root = f"arn:aws:iam::{ACCOUNT}:root"
    admitting = aws.admin("kms").create_key(Policy=json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*",
                       "Resource": "*"},
                      {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                       "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                       "Resource": "*"}]}))["KeyMetadata"]["Arn"]
    url = _subscribed_queue(aws, topic, admits=topic, attributes={"KmsMasterKeyId": admitting})
    aws.admin("sns").publish(TopicArn=topic, Message="m")
    assert _bodies(aws, url) == ["m"]


def test_a_listing_is_allowed_by_its_prefix_condition(aws: Aws) -> None:
    # GIVEN a role allowed s3:ListBucket only for prefixes like raw/dt=*
    bucket = _bucket(aws)
    s3 = aws.as_role(aws.role(_allow(
        "s3:ListBucket", f"arn:aws:s3:::{bucket}",
        Condition={"StringLike": {"s3:prefix": ["raw/dt=*"]}})), "s3")
    # WHEN it lists a folder under that prefix THEN it may
    s3.list_objects_v2(Bucket=bucket, Prefix="raw/dt=2026-11-30/hour=01/shardId-0/")
    # AND listing elsewhere, or the whole bucket (no s3:prefix at all), is denied
    for prefix in ("other/", None):
        with pytest.raises(ClientError) as denied:
            s3.list_objects_v2(Bucket=bucket, **({"Prefix": prefix} if prefix else {}))
        code, status, message = _error(denied)
        assert (code, status) == ("AccessDenied", 403) and "s3:ListBucket" in message
