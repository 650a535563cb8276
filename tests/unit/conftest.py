"""Unit tests call the handlers in one process, many times: Powertools' metric set is
module-level (shared by every ``Metrics`` instance), so each test starts from an empty one,
as Powertools' testing guidance recommends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics.provider import cold_start


@pytest.fixture(autouse=True)
def reset_metric_set() -> Iterator[None]:
    metrics = Metrics()
    metrics.clear_metrics()
    metrics.clear_default_dimensions()
    cold_start.is_cold_start = True
    yield
    metrics.clear_metrics()
