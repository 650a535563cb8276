"""The embedded AWS authorizes every call by its caller's IAM policies (and KMS keys).

GIVEN a role with specific policies, WHEN it calls the embedded AWS through boto3, THEN the
call is allowed or fails with the service's own error, parsed by botocore.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from shardline.local.credentials import RoleSessions
from shardline.local.embedded import LOCAL_ACCOUNT_ID, EmbeddedAws

ACCOUNT = LOCAL_ACCOUNT_ID
REGION = "us-east-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str | list[str] = "*",
           **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


class Aws:
    """Administrator clients and role clients against the embedded AWS."""

    def __init__(self, aws: EmbeddedAws) -> None:
        self.aws = aws
        self.sessions = RoleSessions(self.admin("sts"), aws.endpoint_url, REGION)

    def admin(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws.endpoint_url, region_name=REGION,
                            aws_access_key_id="test", aws_secret_access_key="test")

    def role(self, *statements: dict[str, Any], name: str | None = None) -> str:
        name = name or f"role-{uuid.uuid4().hex[:8]}"
        iam = self.admin("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        if statements:
            iam.put_role_policy(RoleName=name, PolicyName="access",
                                PolicyDocument=_doc(*statements))
        return str(arn)

    def as_role(self, role_arn: str, service: str) -> Any:
        return self.sessions.client(role_arn, service)

    def table(self, kms_key: str | None = None) -> str:
        name = f"t-{uuid.uuid4().hex[:8]}"
        extra: dict[str, Any] = {}
        if kms_key:
            extra["SSESpecification"] = {"Enabled": True, "SSEType": "KMS",
                                         "KMSMasterKeyId": kms_key}
        self.admin("dynamodb").create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                       {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                  {"AttributeName": "SK", "AttributeType": "S"},
                                  {"AttributeName": "G", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}]}],
            **extra)
        return name

    def key(self, via_service: str | None, delegate_to_iam: bool = True) -> str:
        """A customer managed key whose policy delegates use to IAM (through a service)."""
        root = f"arn:aws:iam::{ACCOUNT}:root"
        statements = [{"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": root},
                       "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:Put*"],
                       "Resource": "*"}]
        if delegate_to_iam:
            use: dict[str, Any] = {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": root},
                                   "Action": ["kms:Decrypt", "kms:GenerateDataKey*",
                                              "kms:Encrypt", "kms:DescribeKey"],
                                   "Resource": "*"}
            if via_service:
                use["Condition"] = {"StringEquals": {
                    "kms:ViaService": f"{via_service}.{REGION}.amazonaws.com",
                    "kms:CallerAccount": ACCOUNT}}
            statements.append(use)
        return str(self.admin("kms").create_key(Policy=_doc(*statements))["KeyMetadata"]["Arn"])


@pytest.fixture
def aws(embedded_aws: EmbeddedAws) -> Iterator[Aws]:
    layer = embedded_aws.authorization
    assert layer is not None
    layer.enable()
    yield Aws(embedded_aws)
    layer.disable()


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"].get("Message", ""))


def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


# -- identity policies -------------------------------------------------------------------

def test_a_specific_table_arn_allows_that_table_and_no_other(aws: Aws) -> None:
    # GIVEN a role allowed dynamodb:Query on one table only
    mine, other = aws.table(), aws.table()
    role = aws.role(_allow("dynamodb:Query", _table_arn(mine)))
    ddb = aws.as_role(role, "dynamodb")
    query = {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "x"}}}
    # WHEN it queries both tables THEN its own table answers
    assert ddb.query(TableName=mine, **query)["Count"] == 0
    # AND the other is denied with DynamoDB's error
    with pytest.raises(ClientError) as denied:
        ddb.query(TableName=other, **query)
    code, status, message = _error(denied)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role.split('/')[-1]}/shardline-local "
        f"is not authorized to perform: dynamodb:Query on resource: {_table_arn(other)} "
        "because no identity-based policy allows the dynamodb:Query action")


def test_a_query_on_an_index_needs_the_index_arn(aws: Aws) -> None:
    table = aws.table()
    role = aws.role(_allow("dynamodb:Query", _table_arn(table)))
    ddb = aws.as_role(role, "dynamodb")
    with pytest.raises(ClientError) as denied:
        ddb.query(TableName=table, IndexName="by-g", KeyConditionExpression="G = :g",
                  ExpressionAttributeValues={":g": {"S": "x"}})
    assert f"{_table_arn(table)}/index/by-g" in _error(denied)[2]


def test_an_explicit_deny_wins_over_a_wildcard_allow(aws: Aws) -> None:
    table = aws.table()
    role = aws.role(_allow("dynamodb:*"),
                    {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": _table_arn(table)})
    ddb = aws.as_role(role, "dynamodb")
    ddb.get_item(TableName=table, Key={"PK": {"S": "a"}, "SK": {"S": "b"}})
    with pytest.raises(ClientError) as denied:
        ddb.put_item(TableName=table, Item={"PK": {"S": "a"}, "SK": {"S": "b"}})
    assert "with an explicit deny in an identity-based policy" in _error(denied)[2]


def test_not_action_and_wildcard_resources(aws: Aws) -> None:
    # GIVEN everything on tables named t-* except deleting items
    table = aws.table()
    role = aws.role({"Effect": "Allow", "NotAction": "dynamodb:DeleteItem",
                     "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t-*"})
    ddb = aws.as_role(role, "dynamodb")
    key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    ddb.put_item(TableName=table, Item=key)
    with pytest.raises(ClientError):
        ddb.delete_item(TableName=table, Key=key)


def test_a_removed_permission_is_denied_at_once(aws: Aws) -> None:
    # GIVEN a role whose inline policy allows reading a table, used once
    table = aws.table()
    role = aws.role(_allow("dynamodb:GetItem", _table_arn(table)))
    ddb = aws.as_role(role, "dynamodb")
    key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    ddb.get_item(TableName=table, Key=key)
    # WHEN the policy is deleted through the IAM API THEN the next call is denied
    aws.admin("iam").delete_role_policy(RoleName=role.split("/")[-1], PolicyName="access")
    with pytest.raises(ClientError):
        ddb.get_item(TableName=table, Key=key)


def test_an_attached_managed_policy_counts(aws: Aws) -> None:
    # (AWS managed policies such as AWSLambdaBasicExecutionRole are attachable, and
    # evaluated the same way, when moto loads them: MOTO_IAM_LOAD_MANAGED_POLICIES=true.)
    role = aws.role()
    iam = aws.admin("iam")
    policy = iam.create_policy(
        PolicyName=f"logs-{uuid.uuid4().hex[:8]}",
        PolicyDocument=_doc(_allow(["logs:CreateLogStream", "logs:PutLogEvents"])))
    iam.attach_role_policy(RoleName=role.split("/")[-1], PolicyArn=policy["Policy"]["Arn"])
    logs = aws.as_role(role, "logs")
    group = f"/aws/lambda/{uuid.uuid4().hex[:8]}"
    aws.admin("logs").create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    with pytest.raises(ClientError) as denied:
        logs.delete_log_group(logGroupName=group)
    assert _error(denied)[0] == "AccessDeniedException"


def test_leading_keys_condition(aws: Aws) -> None:
    table = aws.table()
    role = aws.role(_allow("dynamodb:DeleteItem", _table_arn(table), Condition={
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["PENDING"]}}))
    ddb = aws.as_role(role, "dynamodb")
    ddb.delete_item(TableName=table, Key={"PK": {"S": "PENDING"}, "SK": {"S": "x"}})
    with pytest.raises(ClientError):
        ddb.delete_item(TableName=table, Key={"PK": {"S": "OTHER"}, "SK": {"S": "x"}})


# -- error shapes of other protocols -----------------------------------------------------

def test_sqs_denial_is_access_denied(aws: Aws) -> None:
    url = aws.admin("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs = aws.as_role(aws.role(_allow("sqs:ReceiveMessage")), "sqs")
    sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as denied:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert _error(denied)[:2] == ("AccessDenied", 403)


def test_sns_denial_is_authorization_error(aws: Aws) -> None:
    topic = aws.admin("sns").create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    sns = aws.as_role(aws.role(_allow("sns:ListTopics")), "sns")
    with pytest.raises(ClientError) as denied:
        sns.publish(TopicArn=topic, Message="x")
    assert _error(denied)[:2] == ("AuthorizationError", 403)


def test_lambda_denial_is_403(aws: Aws) -> None:
    lam = aws.as_role(aws.role(_allow("lambda:ListFunctions")), "lambda")
    lam.list_functions()
    with pytest.raises(ClientError) as denied:
        lam.get_function(FunctionName="nope")
    code, status, message = _error(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"lambda:GetFunction on resource: arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope" \
        in message


def test_iam_denial_is_query_access_denied(aws: Aws) -> None:
    iam = aws.as_role(aws.role(_allow("iam:GetRole")), "iam")
    with pytest.raises(ClientError) as denied:
        iam.delete_role_policy(RoleName="anything", PolicyName="x")
    assert _error(denied)[:2] == ("AccessDenied", 403)


# -- KMS ---------------------------------------------------------------------------------

def test_kinesis_needs_the_stream_key(aws: Aws) -> None:
    # GIVEN a stream encrypted with a key that delegates use through Kinesis to IAM
    key = aws.key("kinesis")
    name = f"s-{uuid.uuid4().hex[:8]}"
    kinesis = aws.admin("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
    stream_arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"
    # AND a producer role with kinesis:PutRecord but no KMS permission
    without = aws.as_role(aws.role(_allow("kinesis:PutRecord", stream_arn)), "kinesis")
    with_key = aws.as_role(aws.role(_allow("kinesis:PutRecord", stream_arn),
                                    _allow("kms:GenerateDataKey", key)), "kinesis")
    # WHEN both put a record THEN only the one that may use the key succeeds
    with_key.put_record(StreamName=name, Data=b"x", PartitionKey="p")
    with pytest.raises(ClientError) as denied:
        without.put_record(StreamName=name, Data=b"x", PartitionKey="p")
    assert _error(denied)[:2] == ("KMSAccessDeniedException", 400)


def test_kms_via_service_condition_blocks_direct_use(aws: Aws) -> None:
    # GIVEN a key usable only through Kinesis, and a role allowed kms:Encrypt on it
    key = aws.key("kinesis")
    kms = aws.as_role(aws.role(_allow("kms:Encrypt", key)), "kms")
    # WHEN the role calls KMS directly THEN the key policy does not allow it
    with pytest.raises(ClientError) as denied:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert _error(denied)[0] == "AccessDeniedException"


def test_a_key_policy_without_the_account_ignores_iam(aws: Aws) -> None:
    key = aws.key(None, delegate_to_iam=False)
    kms = aws.as_role(aws.role(_allow("kms:*")), "kms")
    with pytest.raises(ClientError):
        kms.encrypt(KeyId=key, Plaintext=b"x")


def test_sqs_on_an_encrypted_queue_needs_the_key(aws: Aws) -> None:
    key = aws.key("sqs")
    url = aws.admin("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}",
                                        Attributes={"KmsMasterKeyId": key})["QueueUrl"]
    sqs = aws.as_role(aws.role(_allow("sqs:SendMessage")), "sqs")
    with pytest.raises(ClientError) as denied:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert _error(denied)[:2] == ("KMS.AccessDeniedException", 400)


def test_dynamodb_on_a_cmk_table_needs_decrypt(aws: Aws) -> None:
    key = aws.key("dynamodb")
    table = aws.table(kms_key=key)
    item = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    without = aws.as_role(aws.role(_allow("dynamodb:PutItem", _table_arn(table))), "dynamodb")
    with pytest.raises(ClientError) as denied:
        without.put_item(TableName=table, Item=item)
    code, status, message = _error(denied)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message.startswith("KMS key access denied error")
    with_key = aws.as_role(aws.role(_allow("dynamodb:PutItem", _table_arn(table)),
                                    _allow("kms:Decrypt", key)), "dynamodb")
    with_key.put_item(TableName=table, Item=item)


# -- the switch --------------------------------------------------------------------------

def test_nothing_is_enforced_when_switched_off(aws: Aws, embedded_aws: EmbeddedAws) -> None:
    table = aws.table()
    ddb = aws.as_role(aws.role(), "dynamodb")
    assert embedded_aws.authorization is not None
    embedded_aws.authorization.disable()
    ddb.get_item(TableName=table, Key={"PK": {"S": "a"}, "SK": {"S": "b"}})


# -- resources read from the request -----------------------------------------------------

def test_kinesis_get_records_is_authorized_on_the_iterators_stream(aws: Aws) -> None:
    name = f"s-{uuid.uuid4().hex[:8]}"
    aws.admin("kinesis").create_stream(StreamName=name, ShardCount=1)
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"
    kinesis = aws.as_role(aws.role(_allow("kinesis:GetShardIterator", arn)), "kinesis")
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    with pytest.raises(ClientError) as denied:
        kinesis.get_records(ShardIterator=iterator)
    assert f"kinesis:GetRecords on resource: {arn} " in _error(denied)[2]


def test_dynamodb_stream_records_need_the_table_key(aws: Aws) -> None:
    # GIVEN a CMK table with a stream, and a role that may read the stream but not the key
    key = aws.key("dynamodb")
    table = aws.table(kms_key=key)
    ddb = aws.admin("dynamodb")
    updated = ddb.update_table(TableName=table, StreamSpecification={
        "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    stream_arn = updated["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=table, Item={"PK": {"S": "a"}, "SK": {"S": "b"}})
    read = ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"]
    streams = aws.as_role(aws.role(_allow(read, stream_arn)), "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    # WHEN it reads records THEN DynamoDB Streams answers with the KMS denial
    with pytest.raises(ClientError) as denied:
        streams.get_records(ShardIterator=iterator)
    code, _, message = _error(denied)
    assert code == "AccessDeniedException" and "kms:Decrypt" in message


def test_sqs_receive_on_an_encrypted_queue_needs_decrypt(aws: Aws) -> None:
    key = aws.key("sqs")
    url = aws.admin("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}",
                                        Attributes={"KmsMasterKeyId": key})["QueueUrl"]
    allowed = aws.as_role(aws.role(_allow("sqs:ReceiveMessage"), _allow("kms:Decrypt", key)),
                          "sqs")
    allowed.receive_message(QueueUrl=url)
    denied_role = aws.as_role(aws.role(_allow("sqs:ReceiveMessage")), "sqs")
    with pytest.raises(ClientError) as denied:
        denied_role.receive_message(QueueUrl=url)
    assert _error(denied)[0] == "KMS.AccessDeniedException"


def test_s3_objects_are_authorized_by_object_arn(aws: Aws) -> None:
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    aws.admin("s3").create_bucket(Bucket=bucket)
    s3 = aws.as_role(aws.role(_allow("s3:PutObject", f"arn:aws:s3:::{bucket}/raw/*")), "s3")
    s3.put_object(Bucket=bucket, Key="raw/2030/01/01/a.jsonl", Body=b"{}")
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=bucket, Key="other/a.jsonl", Body=b"{}")
    assert _error(denied)[:2] == ("AccessDenied", 403)
    with pytest.raises(ClientError):
        s3.list_objects_v2(Bucket=bucket)
