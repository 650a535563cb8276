"""Retention on the embedded stack: what Terraform's retention settings make the functions
write (``expires_at`` from event time), a late reading for a minute past its retention,
and DynamoDB's TTL deleting it (the embedded AWS's sweep)."""

from __future__ import annotations

import time

from lambdas.shared.aggregates import BucketKey
from lambdas.shared.dynamo import batch_write, read_items
from lambdas.shared.partials import device_partition_key
from lambdas.shared.retention import SECONDS_PER_DAY
from shardline.local.embedded_ttl import sweep_expired_items
from shardline.local.stack import LocalStack
from tests.factories.partials import partial_of
from tests.integration.stack_reads import minute_total

METRIC = "temperature_c"


def _minute_retention_days(stack: LocalStack) -> int:
    configuration = stack.client("lambda").get_function_configuration(
        FunctionName=str(stack.outputs["rollup_function_arn"]))
    return int(configuration["Environment"]["Variables"]["MINUTE_RETENTION_DAYS"])


def _partials(stack: LocalStack, device: str) -> list[dict]:
    return list(read_items(
        stack.client("dynamodb"), "query", TableName=str(stack.outputs["aggregates_table_name"]),
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": device_partition_key(device)}}))


def test_a_minute_total_expires_retention_days_after_its_minute(stack: LocalStack) -> None:
    # GIVEN the stack applied from envs/local.tfvars, and a partial of a minute an hour ago
    table = str(stack.outputs["aggregates_table_name"])
    minute = int(time.time()) // 60 * 60 - 3600
    key = BucketKey("dev-retention-live", "site-probe", METRIC, minute)
    # WHEN it reaches the rollup through the table's stream
    batch_write(stack.client("dynamodb"), table, [partial_of(key, ["20"], "shard-a", minute)])
    stack.wait_until_idle(timeout_s=60)
    # THEN its total expires the configured minute retention after the minute itself
    total = minute_total(stack, key)
    assert total is not None
    assert int(total["expires_at"]) == minute + _minute_retention_days(stack) * SECONDS_PER_DAY


def test_a_late_partial_of_an_expired_minute_makes_no_total_and_is_deleted(
        stack: LocalStack) -> None:
    # GIVEN a partial of a minute already past its retention (born expired), as the
    # aggregator writes it for a late reading
    table = str(stack.outputs["aggregates_table_name"])
    days = _minute_retention_days(stack)
    minute = (int(time.time()) - (days + 1) * SECONDS_PER_DAY) // 60 * 60
    device = "dev-retention-late"
    key = BucketKey(device, "site-probe", METRIC, minute)
    late = {**partial_of(key, ["20"], "shard-a", minute),
            "expires_at": minute + days * SECONDS_PER_DAY}
    batch_write(stack.client("dynamodb"), table, [late])
    stack.wait_until_idle(timeout_s=60)
    # WHEN DynamoDB's TTL deletes it (the embedded AWS's sweep: now, if the stack's own
    # periodic sweep has not already) and the stream's REMOVE reaches the rollup
    sweep_expired_items()
    stack.wait_until_idle(timeout_s=60)
    # THEN the rollup wrote no total for the minute, and the partial is gone
    assert minute_total(stack, key) is None
    assert _partials(stack, device) == []
