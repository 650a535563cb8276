"""Shared pytest configuration: dummy AWS credentials so nothing can reach a real account,
Powertools' metrics namespace as Terraform sets it (the handlers read it when imported),
and one embedded AWS server for the tests that need an endpoint but no Terraform."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shardline.local.embedded import EmbeddedAws

for key, value in {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SECURITY_TOKEN": "test",
    "AWS_SESSION_TOKEN": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}.items():
    os.environ[key] = value
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "shardline")
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture(scope="session")
def embedded_aws() -> Iterator[EmbeddedAws]:
    """moto's server in this process on a free port (tests keep their resource names
    distinct; conformance tests reset the backends around each test)."""
    aws = EmbeddedAws(port=0)
    aws.start()
    yield aws
    aws.stop()


def pytest_collection_finish(session: pytest.Session) -> None:
    from tests.terraform.background import start_if_selected

    start_if_selected(session)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.terraform.background import finish

    finish(session)
