"""IAM and KMS are enforced on the embedded stack as on AWS (after `terraform apply`).

A permission missing from the Terraform fails locally, both where a function's own code
calls AWS (with its execution role's credentials) and where Lambda's poller reads the
function's event source with that role.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas.shared.aggregates import BucketKey
from lambdas.shared.dynamo import batch_write
from shardline.local.credentials import RoleSessions
from shardline.local.stack import LocalStack
from shardline.local.stream_consumer import ShardConsumer
from tests.factories.partials import partial_of
from tests.integration.stack_ops import role_arn as _role_arn
from tests.integration.stack_ops import until as _until
from tests.integration.stack_ops import without_action as _without_action
from tests.integration.stack_reads import minute_total

PENDING_PK = "RU#PENDING#3"  # a marker shard (lambdas/shared/aggregates.py)


@pytest.fixture(scope="module")
def sessions(stack: LocalStack) -> RoleSessions:
    return RoleSessions(stack.client("sts"), stack.endpoint_url, "us-east-1")


def test_enforcement_is_on_after_terraform_apply(stack: LocalStack) -> None:
    assert stack.aws.authorization is not None and stack.aws.authorization.enabled
    # The administrator (Terraform's and the CLI's identity) may still do anything.
    stack.client("iam").list_roles()


def test_aws_managed_policies_are_attachable_and_evaluated(
        stack: LocalStack, sessions: RoleSessions) -> None:
    iam = stack.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="iam-test-basic", AssumeRolePolicyDocument=trust)["Role"]
    iam.attach_role_policy(
        RoleName="iam-test-basic",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    stack.client("logs").create_log_group(logGroupName="/aws/lambda/iam-test-basic")
    logs = sessions.client(role["Arn"], "logs")
    logs.create_log_stream(logGroupName="/aws/lambda/iam-test-basic", logStreamName="s")
    with pytest.raises(ClientError):
        logs.delete_log_group(logGroupName="/aws/lambda/iam-test-basic")


def test_each_function_role_may_make_the_calls_its_code_makes(
        stack: LocalStack, sessions: RoleSessions) -> None:
    """The calls of lambdas/*/repository.py, as each function's role (KMS included)."""
    table = stack.outputs["aggregates_table_name"]
    quarantine = stack.outputs["quarantine_table_name"]
    item = {"PK": {"S": "IAM#probe"}, "SK": {"S": "probe"}}
    aggregator = sessions.client(_role_arn(stack, "aggregator_function_name"), "dynamodb")
    for name in (table, quarantine):
        aggregator.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}}]})
    rollup = sessions.client(_role_arn(stack, "rollup_function_name"), "dynamodb")
    rollup.query(TableName=table, KeyConditionExpression="PK = :p",
                 ExpressionAttributeValues={":p": {"S": "IAM#probe"}})
    rollup.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]})
    scheduled = sessions.client(_role_arn(stack, "scheduled_rollup_function_name"), "dynamodb")
    scheduled.query(TableName=table, IndexName=stack.outputs["aggregates_hour_index_name"],
                    KeyConditionExpression="GSI1PK = :p",
                    ExpressionAttributeValues={":p": {"S": "none"}})
    scheduled.query(TableName=table, KeyConditionExpression="PK = :p",
                    ExpressionAttributeValues={":p": {"S": PENDING_PK}}, ConsistentRead=True)
    for partition in (PENDING_PK, "RU#PENDING"):  # a shard's, and the legacy partition
        scheduled.delete_item(TableName=table, Key={"PK": {"S": partition}, "SK": {"S": "none"}})
    # The probe items are not telemetry: the later tests read both tables whole.
    for name in (table, quarantine):
        stack.client("dynamodb").delete_item(TableName=name, Key=item)


def test_a_function_without_dynamodb_query_is_denied(
        stack: LocalStack, sessions: RoleSessions) -> None:
    # GIVEN the rollup role with dynamodb:Query removed through the IAM API
    role = _role_arn(stack, "rollup_function_name")
    table = stack.outputs["aggregates_table_name"]
    rollup = sessions.client(role, "dynamodb")
    # WHEN the function's code queries the partials, as its execution role
    with _without_action(stack, role, "dynamodb:Query"), pytest.raises(ClientError) as denied:
        rollup.query(TableName=table, KeyConditionExpression="PK = :p",
                     ExpressionAttributeValues={":p": {"S": "x"}})
    # THEN DynamoDB's own AccessDeniedException names the role, the action and the table
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert f"assumed-role/{role.rsplit('/', 1)[-1]}/" in error["Message"]
    table_arn = stack.outputs["aggregates_table_arn"]
    assert f"dynamodb:Query on resource: {table_arn}" in error["Message"]


def test_a_poller_denied_its_stream_makes_no_progress_and_says_why(stack: LocalStack) -> None:
    # GIVEN the aggregator's role without kinesis:GetRecords
    assert stack.engine is not None
    role = _role_arn(stack, "aggregator_function_name")
    aggregator = str(stack.outputs["function_alias_arns"]["aggregator"])
    consumers = [c for c in stack.engine.consumers()
                 if isinstance(c, ShardConsumer) and c.mapping.service == "kinesis"
                 and c.mapping.function_arn.endswith(aggregator)]
    assert consumers
    with _without_action(stack, role, "kinesis:GetRecords"):
        # WHEN Lambda's poller reads the stream with the function's role
        # THEN every shard's consumer reports the denial and stops making progress
        assert _until(lambda: all(c.access.reason for c in consumers), 15)
        assert all("kinesis:GetRecords" in str(c.access.reason) for c in consumers)
        checkpoints = [c.checkpoint for c in consumers]
        uuid = consumers[0].mapping.uuid
        mapping = stack.client("lambda").get_event_source_mapping(UUID=uuid)
        assert mapping["LastProcessingResult"].startswith("PROBLEM: AccessDeniedException")
        assert any(d.action == "kinesis:GetRecords" for d in stack.denials())
        assert [c.checkpoint for c in consumers] == checkpoints
    # AND once the permission is back, the mapping reads again
    assert _until(lambda: not any(c.access.reason for c in consumers), 15)


def test_the_deployed_rollup_without_dynamodb_query_fails_until_it_is_granted(
        stack: LocalStack) -> None:
    """The function itself, in its execution environment with its role's credentials."""
    assert stack.engine is not None
    lambda_client = stack.client("lambda")
    mapping = next(m for m in stack.engine.mappings() if m.service == "dynamodb")
    table = str(stack.outputs["aggregates_table_name"])
    role = _role_arn(stack, "rollup_function_name")
    rollup_arn = str(stack.outputs["function_alias_arns"]["rollup"])  # the mapping's
    log = stack.dir / "logs" / f"{stack.outputs['rollup_function_name']}.log"
    minute = int(time.time()) // 60 * 60 - 7200
    key = BucketKey("dev-iam-probe", "site-iam-probe", "temperature_c", minute)
    # GIVEN the rollup's mapping retrying until its batch succeeds (for this drill, so the
    # denied batch waits rather than going to the failure queue), and its role without
    # dynamodb:Query
    lambda_client.update_event_source_mapping(UUID=mapping.uuid, MaximumRetryAttempts=-1)
    try:
        assert _until(lambda: all(c.mapping.maximum_retry_attempts == -1
                                  for c in stack.engine.consumers()
                                  if getattr(c, "mapping", None) is not None
                                  and c.mapping.uuid == mapping.uuid), 15)
        before = len(stack.engine.invocation_log)
        with _without_action(stack, role, "dynamodb:Query"):
            # WHEN a partial is written, so the rollup is invoked to recompute its minute
            batch_write(stack.client("dynamodb"), table,
                        [partial_of(key, ["7.5"], "shard-iam", minute)])

            # THEN its invocations fail: DynamoDB refused the function's own Query
            def failed() -> list[Any]:
                return [inv for inv in list(stack.engine.invocation_log)[before:]
                        if inv.function == rollup_arn and inv.outcome == "error"]

            assert _until(lambda: len(failed()) >= 2, 60)
            assert "AccessDeniedException" in log.read_text()
            assert "is not authorized to perform: dynamodb:Query" in log.read_text()
            assert minute_total(stack, key) is None
        # AND once the permission is back, the retried batch succeeds and the total is written
        assert _until(lambda: minute_total(stack, key) is not None, 60)
        total = minute_total(stack, key)
        assert total is not None and total["sum"] == Decimal("7.5")
    finally:
        lambda_client.update_event_source_mapping(
            UUID=mapping.uuid, MaximumRetryAttempts=mapping.maximum_retry_attempts)

