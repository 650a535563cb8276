"""Per-invocation metrics, the same way in every function.

Powertools' ``Metrics`` keeps one metric set per process; invocations running side by side
in one process (the local runtime) would mix theirs up. ``EphemeralMetrics`` keeps its
own, and is flushed (as EMF to stdout) when the invocation ends, whether it succeeded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools.metrics import EphemeralMetrics

METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "shardline"


@contextmanager
def invocation_metrics(service_name: str) -> Iterator[EphemeralMetrics]:
    """Metrics for one invocation, flushed on the way out (if any were added)."""
    metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=service_name)
    try:
        yield metrics
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()


__all__ = ["METRICS_NAMESPACE", "invocation_metrics"]
