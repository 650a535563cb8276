"""Unit tests call the handlers in one process, many times: Powertools' metric set is
module-level (shared by every ``Metrics`` instance), so each test starts from an empty one,
as Powertools' testing guidance recommends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics.provider import cold_start

from lambdas.scheduled_rollup import config as scheduled_config
from lambdas.scheduled_rollup import repository as scheduled_repository
from shardline.local.embedded import EmbeddedAws
from tests.factories.dynamodb import create_aggregates_table


@pytest.fixture(autouse=True)
def reset_metric_set() -> Iterator[None]:
    metrics = Metrics()
    metrics.clear_metrics()
    metrics.clear_default_dimensions()
    cold_start.is_cold_start = True
    yield
    metrics.clear_metrics()


@pytest.fixture
def rollup_table(embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    """A fresh aggregates table (with the by_hour index) on the session's embedded AWS for
    the scheduled rollup; the handler's own client reaches it through AWS_ENDPOINT_URL."""
    name = f"aggregates-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    monkeypatch.setenv("AGGREGATES_TABLE", name)
    monkeypatch.setenv("SETTLE_SECONDS", "0")
    scheduled_config.get_config.cache_clear()
    scheduled_repository.default_repository.cache_clear()
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url,
                          region_name="us-east-1")
    create_aggregates_table(client, name)
    yield client, name
    client.delete_table(TableName=name)
    scheduled_config.get_config.cache_clear()
    scheduled_repository.default_repository.cache_clear()
