"""Minute totals on the embedded stack: partials written to the aggregates table reach the
rollup function through the table's DynamoDB stream (Terraform's mapping, driven by the
engine), which keeps each minute's total equal to the sum of its partials."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from lambdas.shared.aggregates import BucketKey
from lambdas.shared.dynamo import batch_write
from shardline.local.stack import LocalStack
from shardline.query import AggregateReader
from tests.factories.partials import partial_of
from tests.integration.stack_reads import minute_total

DEVICE = "dev-rollup-probe"
METRIC = "temperature_c"


def _reader(stack: LocalStack) -> AggregateReader:
    return AggregateReader(str(stack.outputs["aggregates_table_name"]), stack.client("dynamodb"))


def _rollup_invocations(stack: LocalStack) -> list:
    assert stack.engine is not None
    arn = str(stack.outputs["function_alias_arns"]["rollup"])  # what the mapping invokes
    return [inv for inv in stack.engine.invocation_log if inv.function == arn]


def test_terraform_created_the_rollup_mapping_on_the_table_stream(stack: LocalStack) -> None:
    # GIVEN the stack applied from envs/local.tfvars
    # WHEN the engine discovers mappings through the Lambda API
    assert stack.engine is not None
    mappings = [m for m in stack.engine.mappings() if m.service == "dynamodb"]
    # THEN it sees the rollup's mapping on the aggregates table's stream, as configured
    assert len(mappings) == 1
    mapping = mappings[0]
    assert mapping.function_arn == stack.outputs["function_alias_arns"]["rollup"]
    assert mapping.source_arn == stack.outputs["aggregates_stream_arn"]
    assert mapping.starting_position == "TRIM_HORIZON"
    assert mapping.bisect is True
    assert mapping.report_batch_item_failures is True
    assert mapping.parallelization_factor == 1
    assert mapping.tumbling_window_s == 0
    assert mapping.on_failure_arn == stack.outputs["failure_queue_arn"]
    # AND its one filter, which passes inserted or modified partials only
    (pattern,) = mapping.filter_patterns
    assert json.loads(pattern)["eventName"] == ["INSERT", "MODIFY"]


def test_a_new_partial_recomputes_its_minute_total(stack: LocalStack) -> None:
    # GIVEN a minute (an hour ago, so no telemetry shares it) with one partial
    table = str(stack.outputs["aggregates_table_name"])
    client = stack.client("dynamodb")
    minute = int(time.time()) // 60 * 60 - 3600
    key = BucketKey(DEVICE, "site-probe", METRIC, minute)
    first_partial = partial_of(key, ["21.5"], "shard-a", minute)
    batch_write(client, table, [first_partial])
    stack.wait_until_idle(timeout_s=60)
    first = minute_total(stack, key)
    assert first is not None and first["partials"] == 1 and first["sum"] == Decimal("21.5")

    # WHEN a second partial of the same minute arrives from another shard, and the first
    # is rewritten unchanged (a replayed window)
    batch_write(client, table, [
        partial_of(key, ["-1.25"], "shard-b", minute + 10),
        first_partial,
    ])
    stack.wait_until_idle(timeout_s=60)

    # THEN the total sums both partials exactly, and queries read it
    total = minute_total(stack, key)
    assert total is not None
    assert total["partials"] == 2
    assert (total["count"], total["sum"], total["min"], total["max"]) == (
        2, Decimal("20.25"), Decimal("-1.25"), Decimal("21.5"))
    rows = _reader(stack).series(DEVICE, METRIC, since_s=minute, until_s=minute + 59)
    assert [(row.minute, row.count, row.stats.total) for row in rows] == [
        (minute, 2, Decimal("20.25"))]


def test_the_rollup_does_not_feed_on_its_own_totals(stack: LocalStack) -> None:
    # GIVEN a drained stack whose totals the rollup has written
    stack.wait_until_idle(timeout_s=60)
    before = len(_rollup_invocations(stack))
    totals = {(r.device_id, r.metric, r.minute): r.stats for r in _reader(stack).all_minutes()}
    assert totals

    # WHEN the stack keeps polling with nothing new written
    stack.wait_until_idle(timeout_s=60)

    # THEN the rollup was not invoked again (its writes of totals are no work for it),
    # and the totals are unchanged. (Whether earlier invocations all succeeded is not this
    # test's business: the IAM drill makes some fail on purpose, and the accounting tests
    # prove the totals exact.)
    invocations = _rollup_invocations(stack)
    assert invocations and len(invocations) == before
    assert {(r.device_id, r.metric, r.minute): r.stats
            for r in _reader(stack).all_minutes()} == totals


def test_the_rollups_own_writes_never_invoke_it(stack: LocalStack) -> None:
    """Its totals and pending-hour markers land on the stream it reads; the mapping's
    FilterCriteria drops them, so only the partial invokes it."""
    # GIVEN a drained stack
    stack.wait_until_idle(timeout_s=60)
    before = len(_rollup_invocations(stack))
    table = str(stack.outputs["aggregates_table_name"])
    minute = int(time.time()) // 60 * 60 - 7200
    key = BucketKey(DEVICE, "site-own-writes", METRIC, minute)

    # WHEN one partial is written, and the rollup writes its total and the hour's marker
    batch_write(stack.client("dynamodb"), table, [partial_of(key, ["3.5"], "shard-own", minute)])
    stack.wait_until_idle(timeout_s=60)
    total = minute_total(stack, key)
    assert total is not None and total["sum"] == Decimal("3.5")

    # THEN the rollup ran once, for the partial alone: none of its writes invoked it
    assert [inv.batch_size for inv in _rollup_invocations(stack)[before:]] == [1]
