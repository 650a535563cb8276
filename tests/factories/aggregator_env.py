"""The aggregator's environment under moto's ``mock_aws``: both of its tables, the variables
naming them, and fresh cached configuration and repositories before and after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.aggregator import config as aggregator_config
from lambdas.aggregator import repository
from tests.factories.dynamodb import create_aggregates_table

REGION = "us-east-1"
AGGREGATES = "aggregates"
QUARANTINE = "quarantine"


def reset_aggregator_caches() -> None:
    aggregator_config.get_config.cache_clear()
    repository.default_repository.cache_clear()
    repository.default_quarantine_repository.cache_clear()


@contextmanager
def aggregator_tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Inside ``mock_aws``: the aggregates and quarantine tables and the function's
    environment naming both (no write backoff); yields a DynamoDB client."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AGGREGATES_TABLE", AGGREGATES)
    monkeypatch.setenv("QUARANTINE_TABLE", QUARANTINE)
    monkeypatch.setenv("WRITE_BASE_DELAY_MS", "0")
    reset_aggregator_caches()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name=REGION)
            create_aggregates_table(client, AGGREGATES)
            create_aggregates_table(client, QUARANTINE)
            yield client
    finally:
        reset_aggregator_caches()


__all__ = ["AGGREGATES", "QUARANTINE", "REGION", "aggregator_tables", "reset_aggregator_caches"]
