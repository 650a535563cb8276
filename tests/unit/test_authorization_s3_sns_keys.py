"""KMS enforcement for the archive's and the alerts' resources in the embedded AWS: an
S3 object written or read with SSE-KMS under a customer managed key, and a publish to an
SNS topic encrypted with one, need the caller to be allowed to use the key through that
service (key policy + IAM), as on AWS. SNS's own delivery to a subscribed queue is not a
caller's request and is never refused here.
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


def test_publishing_to_a_cmk_topic_needs_the_key_and_delivery_to_a_queue_is_not_refused(
        aws: Aws) -> None:
    # GIVEN a topic encrypted with a customer managed key, a queue subscribed to it with
    # raw delivery, and the queue policy admitting the topic
    key = aws.key("sns")
    sns, sqs = aws.admin("sns"), aws.admin("sqs")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}",
                             Attributes={"KmsMasterKeyId": key})["TopicArn"]
    queue_name = f"q-{uuid.uuid4().hex[:8]}"
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
    url = sqs.create_queue(QueueName=queue_name, Attributes={
        "SqsManagedSseEnabled": "true", "Policy": json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                       "Action": "sqs:SendMessage", "Resource": queue_arn,
                       "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
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
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in messages] == ['{"event": "raised"}']
