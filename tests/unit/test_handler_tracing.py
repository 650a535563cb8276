"""The handlers under Lambda's own environment: with tracing on they record their X-Ray
segments (to the daemon address Lambda sets), with POWERTOOLS_TRACE_DISABLED they record
none, and either way they answer the same. Each run is a fresh interpreter, as an
execution environment is: Powertools' Tracer reads its settings once, at import."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A trace header as Lambda sets it for a sampled invocation (tracing mode Active).
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

INVOCATION = """
import json
from lambdas.aggregator.handler import lambda_handler
from lambdas.rollup import handler as rollup_handler
from lambdas.scheduled_rollup import handler as scheduled_rollup_handler
from tests.factories.kinesis import KinesisShard, lambda_context, tumbling_window_event
from tests.factories.telemetry import device_series

event = tumbling_window_event(KinesisShard().records(device_series("dev-1", 3)))
print(json.dumps(lambda_handler(event, lambda_context("aggregator"))))
"""


def invoke_in_lambda_environment(**variables: str) -> tuple[dict[str, Any], list[dict]]:
    """Run the aggregator once in a new interpreter with Lambda's variables; return its
    response and the segments its tracer sent to the daemon address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(0.5)
        environment = {
            **os.environ,
            "LAMBDA_TASK_ROOT": str(ROOT),
            "AWS_LAMBDA_FUNCTION_NAME": "shardline-aggregator",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
            "AGGREGATES_TABLE": "aggregates",
            "POWERTOOLS_SERVICE_NAME": "aggregator",
            **variables,
        }
        completed = subprocess.run([sys.executable, "-c", INVOCATION], env=environment,
                                   cwd=ROOT, capture_output=True, text=True, timeout=120,
                                   check=False)
        assert completed.returncode == 0, completed.stderr
        segments = []
        while True:
            try:
                datagram = daemon.recv(65_536).decode()
            except TimeoutError:
                break
            segments.append(json.loads(datagram.split("\n", 1)[1]))
    response = json.loads(completed.stdout.strip().splitlines()[-1])
    return response, segments


@pytest.mark.parametrize("disabled", [False, True], ids=["tracing_on", "tracing_disabled"])
def test_the_handler_answers_the_same_with_tracing_on_or_disabled(disabled: bool) -> None:
    # GIVEN Lambda's environment, with tracing on or switched off as Terraform does
    variables = {"POWERTOOLS_TRACE_DISABLED": "true"} if disabled else {}

    # WHEN a window batch is invoked
    response, segments = invoke_in_lambda_environment(**variables)

    # THEN the answer is the aggregator's
    assert response["batchItemFailures"] == []
    assert response["state"]["aggregated"] == 3
    # AND the handler's segment was recorded in the invocation's trace only with tracing on
    handler_segments = [s for s in segments if s.get("name") == "## lambda_handler"]
    if disabled:
        assert segments == []
    else:
        [segment] = handler_segments
        assert segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
        assert "response" not in json.dumps(segment.get("metadata", {}))
