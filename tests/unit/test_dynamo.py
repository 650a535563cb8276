"""dynamo.batch_write and dynamo.batch_get against embedded DynamoDB (moto), with faults
injected around the real service through botocore event hooks on the real client."""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambdas.shared.dynamo import (
    MAX_BATCH_SIZE,
    MAX_GET_BATCH_SIZE,
    BatchGetError,
    BatchWriteError,
    backoff_delay,
    batch_get,
    batch_write,
    dedupe_items,
)
from tests.factories.dynamodb import create_aggregates_table, scan_items

TABLE = "aggregates"


@pytest.fixture(scope="module")
def aws_session():
    """Embedded AWS for the module, dummy credentials, no endpoint override."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with mock_aws():
            yield boto3.session.Session(region_name="us-east-1")


@pytest.fixture
def dynamodb(aws_session):
    """A fresh client (fault hooks do not leak between tests) and an empty table."""
    client = aws_session.client("dynamodb")
    create_aggregates_table(client, TABLE)
    yield client
    client.delete_table(TableName=TABLE)


class Sleeps:
    """Records the backoff delays instead of sleeping."""

    def __init__(self):
        self.delays: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.delays.append(seconds)


def items(n: int, prefix: str = "dev") -> list[dict]:
    return [
        {"PK": f"DM#{prefix}-{i:03d}#t", "SK": "P#2025-11-23T12:13#shard#0", "count": i,
         "sum": Decimal(f"{i}.5")}
        for i in range(n)
    ]


def count_calls(client) -> list[int]:
    """Register a hook that records the size of every BatchWriteItem request."""
    sizes: list[int] = []
    lock = threading.Lock()

    def before_build(params, **_):
        with lock:
            sizes.append(sum(len(reqs) for reqs in params["RequestItems"].values()))

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", before_build)
    return sizes


def test_many_items_are_written_in_calls_of_at_most_25(dynamodb):
    # GIVEN 60 items
    sizes = count_calls(dynamodb)

    # WHEN they are batch-written with a pool of workers
    report = batch_write(dynamodb, TABLE, items(60), sleep=Sleeps())

    # THEN three calls of ≤25 put every item, exactly as given
    assert sorted(sizes) == [10, 25, 25] and max(sizes) <= MAX_BATCH_SIZE
    assert (report.calls, report.items, report.retries) == (3, 60, 0)
    stored = scan_items(dynamodb, TABLE)
    assert len(stored) == 60
    assert stored[7]["count"] == 7 and stored[7]["sum"] == Decimal("7.5")


def test_duplicate_keys_are_deduplicated_last_wins(dynamodb):
    # GIVEN items of which two name the same key
    batch = [*items(3), {**items(1)[0], "count": 99}]

    # WHEN written (DynamoDB would reject the duplicate inside one batch)
    report = batch_write(dynamodb, TABLE, batch, sleep=Sleeps())

    # THEN the later item wins and the report counts the duplicate
    assert report.duplicates == 1 and report.items == 3
    assert scan_items(dynamodb, TABLE)[0]["count"] == 99


def test_unprocessed_items_are_retried_until_written(dynamodb):
    # GIVEN a service that leaves the first 5 requests of the first two calls unprocessed
    # (the hook deletes what the real service wrote and hands the requests back)
    faults = {"left": 2}
    lock = threading.Lock()

    def after_call(parsed, context, **_):
        with lock:
            if faults["left"] == 0:
                return
            faults["left"] -= 1
        requests = context["batch_requests"][:5]
        for request in requests:
            item = request["PutRequest"]["Item"]
            dynamodb.delete_item(TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]})
        parsed["UnprocessedItems"] = {TABLE: requests}

    def before_build(params, context, **_):
        context["batch_requests"] = params["RequestItems"][TABLE]

    dynamodb.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", before_build)
    dynamodb.meta.events.register("after-call.dynamodb.BatchWriteItem", after_call)
    sleeps = Sleeps()

    # WHEN 30 items are written
    report = batch_write(dynamodb, TABLE, items(30), sleep=sleeps, rng=random.Random(1))

    # THEN they are all stored after two retries with jittered backoff
    assert len(scan_items(dynamodb, TABLE)) == 30
    assert report.retries == 2 and report.calls == 4
    assert len(sleeps.delays) == 2 and all(0 <= d <= 2.0 for d in sleeps.delays)


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
     "InternalServerError"],
)
def test_throttling_errors_are_retried(dynamodb, code):
    # GIVEN a service that throttles the first two calls
    throttled = {"left": 2}

    def before_call(**_):
        if throttled["left"]:
            throttled["left"] -= 1
            raise ClientError({"Error": {"Code": code, "Message": "slow down"}}, "BatchWriteItem")

    dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", before_call)
    sleeps = Sleeps()

    # WHEN one batch is written
    report = batch_write(dynamodb, TABLE, items(10), sleep=sleeps, max_workers=1)

    # THEN it succeeds on the third call
    assert (report.calls, report.retries) == (3, 2)
    assert len(scan_items(dynamodb, TABLE)) == 10
    assert len(sleeps.delays) == 2


def test_exhausted_budget_raises_with_the_count_of_unwritten_items(dynamodb):
    # GIVEN a service that always leaves 4 requests of every call unprocessed
    def before_build(params, context, **_):
        context["batch_requests"] = params["RequestItems"][TABLE]

    def after_call(parsed, context, **_):
        requests = context["batch_requests"][:4]
        for request in requests:
            item = request["PutRequest"]["Item"]
            dynamodb.delete_item(TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]})
        parsed["UnprocessedItems"] = {TABLE: requests}

    dynamodb.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", before_build)
    dynamodb.meta.events.register("after-call.dynamodb.BatchWriteItem", after_call)

    # WHEN 50 items (two chunks) are written with 3 attempts per chunk
    with pytest.raises(BatchWriteError) as caught:
        batch_write(dynamodb, TABLE, items(50), max_attempts=3, sleep=Sleeps())

    # THEN the error names the 8 unwritten items, and exactly those are missing
    assert caught.value.unwritten == 8
    assert "8 of 50 items" in str(caught.value)
    assert caught.value.report.calls == 6
    assert len(scan_items(dynamodb, TABLE)) == 42


def test_persistent_throttling_exhausts_the_budget(dynamodb):
    # GIVEN a service that always throttles
    def before_call(**_):
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "no"}}, "BatchWriteItem"
        )

    dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", before_call)

    # WHEN / THEN the write gives up after the budget, naming every item
    with pytest.raises(BatchWriteError, match="ThrottlingException") as caught:
        batch_write(dynamodb, TABLE, items(30), max_attempts=4, sleep=Sleeps())
    assert caught.value.unwritten == 30 and caught.value.report.calls == 8


def test_non_retryable_errors_are_not_retried(dynamodb):
    # GIVEN an item the service rejects (an empty key string)
    bad = [{"PK": "", "SK": "x"}]

    # WHEN / THEN it fails at once, with the service's reason
    with pytest.raises(BatchWriteError, match="ValidationException") as caught:
        batch_write(dynamodb, TABLE, bad, sleep=Sleeps())
    assert caught.value.report.calls == 1 and caught.value.report.retries == 0


def test_nothing_to_write_makes_no_call(dynamodb):
    # GIVEN no items / WHEN written / THEN no call is made
    sizes = count_calls(dynamodb)
    assert batch_write(dynamodb, TABLE, [], sleep=Sleeps()).calls == 0
    assert sizes == []


def test_backoff_is_full_jitter_capped():
    # GIVEN a deterministic random source
    rng = random.Random(7)

    # WHEN delays are drawn for growing attempts
    delays = [backoff_delay(attempt, 0.1, 1.0, rng) for attempt in range(8)]

    # THEN each lies in [0, min(cap, base * 2**attempt)]
    for attempt, delay in enumerate(delays):
        assert 0 <= delay <= min(1.0, 0.1 * 2**attempt)


def test_dedupe_keeps_order_of_first_appearance_and_last_value():
    # GIVEN three items, the first and last sharing a key
    first, other, last = {"PK": "a", "SK": "1", "n": 1}, {"PK": "b", "SK": "1"}, {"PK": "a",
                                                                                "SK": "1", "n": 2}

    # WHEN deduplicated / THEN one item per key, the last value, and one dropped
    assert dedupe_items([first, other, last], ("PK", "SK")) == ([last, other], 1)


def keys_of(rows: list[dict]) -> list[dict]:
    return [{"PK": row["PK"], "SK": row["SK"]} for row in rows]


def leave_unprocessed(client, count: int, calls: int | None) -> list[int]:
    """Hook: hand ``count`` keys of each of the first ``calls`` (None: every) BatchGetItem
    calls back as UnprocessedKeys, their items taken out of the response; the sizes of
    all calls, as sent."""
    sizes: list[int] = []

    def after_call(parsed, context, **_):
        sizes.append(len(context["keys"]))
        if calls is not None and len(sizes) > calls:
            return
        withheld = context["keys"][:count]
        names = {(key["PK"]["S"], key["SK"]["S"]) for key in withheld}
        parsed["Responses"][TABLE] = [item for item in parsed["Responses"][TABLE]
                                      if (item["PK"]["S"], item["SK"]["S"]) not in names]
        parsed["UnprocessedKeys"] = {TABLE: {"Keys": withheld, "ConsistentRead": True}}

    def before_build(params, context, **_):
        context["keys"] = params["RequestItems"][TABLE]["Keys"]

    client.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", before_build)
    client.meta.events.register("after-call.dynamodb.BatchGetItem", after_call)
    return sizes


def test_batch_get_reads_the_items_that_exist_in_calls_of_at_most_100(dynamodb):
    # GIVEN 150 stored items
    stored = items(150)
    batch_write(dynamodb, TABLE, stored)
    sizes = leave_unprocessed(dynamodb, 0, calls=0)  # only counts the calls

    # WHEN their keys, 5 keys of no item and one key twice are read
    wanted = keys_of(stored) + keys_of(items(5, prefix="absent")) + keys_of(stored[:1])
    found = batch_get(dynamodb, TABLE, wanted, consistent_read=True)

    # THEN every stored item comes back once, by key, with its values
    assert sizes == [MAX_GET_BATCH_SIZE, 55]
    assert len(found) == 150
    assert found[(stored[7]["PK"], stored[7]["SK"])]["sum"] == Decimal("7.5")


def test_batch_get_retries_unprocessed_keys_with_backoff(dynamodb):
    # GIVEN 30 stored items and a service that leaves 4 keys unread in the first call
    stored = items(30)
    batch_write(dynamodb, TABLE, stored)
    sizes = leave_unprocessed(dynamodb, 4, calls=1)
    sleeps = Sleeps()

    # WHEN they are read
    found = batch_get(dynamodb, TABLE, keys_of(stored), sleep=sleeps)

    # THEN the second call reads the 4 and nothing is missing
    assert sizes == [30, 4] and len(sleeps.delays) == 1
    assert set(found) == {(row["PK"], row["SK"]) for row in stored}


def test_batch_get_raises_when_keys_stay_unread(dynamodb):
    # GIVEN a service that always leaves 2 keys unread
    stored = items(10)
    batch_write(dynamodb, TABLE, stored)
    sizes = leave_unprocessed(dynamodb, 2, calls=None)

    # WHEN they are read with a budget of 3 calls
    # THEN it raises, saying how many keys were not read, after 3 calls
    with pytest.raises(BatchGetError, match="2 keys of aggregates were not read after 3"):
        batch_get(dynamodb, TABLE, keys_of(stored), max_attempts=3, sleep=Sleeps())
    assert sizes == [10, 2, 2]


def test_batch_get_does_not_retry_a_refused_call(aws_session):
    # GIVEN no such table
    client = aws_session.client("dynamodb")
    sleeps = Sleeps()

    # WHEN keys of it are read
    # THEN the refusal is raised at once, without backoff
    with pytest.raises(BatchGetError, match="ResourceNotFoundException"):
        batch_get(client, "no-such-table", keys_of(items(2)), sleep=sleeps)
    assert sleeps.delays == []
