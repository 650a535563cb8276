"""``shardline mappings``: each mapping's state, last processing result and iterator age,
read from the Lambda and CloudWatch APIs of the embedded AWS (what it reads on AWS)."""

from __future__ import annotations

import csv
import io
import json
import math
import time
import uuid
import zipfile
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from shardline.cli import main
from shardline.local.embedded import EmbeddedAws
from shardline.mappings import MappingHealth

ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def _client(aws: EmbeddedAws, service: str) -> Any:
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def _mapped_function(aws: EmbeddedAws, name: str) -> str:
    """A function with a Kinesis mapping (disabled: nothing polls it here); its mapping's UUID."""
    role = _client(aws, "iam").create_role(RoleName=f"role-{name}",
                                           AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
    lambda_client = _client(aws, "lambda")
    lambda_client.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                  Handler="handler.lambda_handler",
                                  Code={"ZipFile": code.getvalue()})
    kinesis = _client(aws, "kinesis")
    kinesis.create_stream(StreamName=f"{name}-stream", ShardCount=1)
    stream = kinesis.describe_stream_summary(StreamName=f"{name}-stream")
    return str(lambda_client.create_event_source_mapping(
        EventSourceArn=stream["StreamDescriptionSummary"]["StreamARN"], FunctionName=name,
        StartingPosition="LATEST", Enabled=False)["UUID"])


def _iterator_age(aws: EmbeddedAws, function: str, minute: float, age_ms: float) -> None:
    _client(aws, "cloudwatch").put_metric_data(Namespace="AWS/Lambda", MetricData=[{
        "MetricName": "IteratorAge", "Dimensions": [{"Name": "FunctionName", "Value": function}],
        "Timestamp": minute, "Value": age_ms, "Unit": "Milliseconds"}])


def run(aws: EmbeddedAws, *args: str) -> Result:
    return CliRunner().invoke(main, ["mappings", "--endpoint", aws.endpoint_url, *args])


def test_a_mapping_behind_its_stream_is_reported_with_its_iterator_age(
        embedded_aws: EmbeddedAws) -> None:
    # GIVEN a disabled mapping whose function's iterator age rose over three minutes
    name = f"shardline-drill-{uuid.uuid4().hex[:8]}"
    mapping = _mapped_function(embedded_aws, name)
    minute = math.floor(time.time() / 60) * 60 - 180
    for offset, age in ((0, 20_000), (60, 70_000), (120, 130_000)):
        _iterator_age(embedded_aws, name, minute + offset, age)

    # WHEN the mappings of the function are listed as JSON
    result = run(embedded_aws, "--prefix", name, "--format", "json")

    # THEN the mapping carries its state, the latest and largest age, and every problem
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert (row["uuid"], row["function"], row["state"]) == (mapping, name, "Disabled")
    assert row["source"] == f"kinesis:stream/{name}-stream"
    assert (row["iterator_age_ms"], row["max_age_ms"]) == (130_000, 130_000)
    assert row["check"] == ("state Disabled; behind: iterator age >= 60000 ms; "
                            "iterator age rising")
    assert [point["max_ms"] for point in row["iterator_age"]] == [20_000, 70_000, 130_000]


def test_the_behind_threshold_follows_the_flag(embedded_aws: EmbeddedAws) -> None:
    # GIVEN a mapping whose function's latest iterator age is 70 s
    name = f"shardline-drill-{uuid.uuid4().hex[:8]}"
    _mapped_function(embedded_aws, name)
    _iterator_age(embedded_aws, name, math.floor(time.time() / 60) * 60 - 60, 70_000)
    # WHEN the threshold is raised above it
    result = run(embedded_aws, "--prefix", name, "--behind-ms", "120000", "--format", "csv")
    # THEN only the state is reported
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(result.output)))
    assert (row["iterator_age_ms"], row["check"]) == ("70000", "state Disabled")


def test_no_mapping_of_the_prefix_says_so(embedded_aws: EmbeddedAws) -> None:
    result = run(embedded_aws, "--prefix", f"absent-{uuid.uuid4().hex[:8]}")
    assert result.exit_code == 0
    assert "no event source mapping of a function named absent-" in result.output


@pytest.mark.parametrize("since", ["30s", "2d"])
def test_a_window_iterator_age_cannot_cover_is_a_one_line_error(
        embedded_aws: EmbeddedAws, since: str) -> None:
    result = run(embedded_aws, "--since", since)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "give 1m to 24h" in result.output


def _health(last_result: str, *ages_ms: float) -> MappingHealth:
    return MappingHealth(uuid="u", function="shardline-aggregator:live",
                         source="kinesis:stream/s", state="Enabled", state_reason="",
                         last_result=last_result,
                         ages=tuple((60.0 * i, age) for i, age in enumerate(ages_ms)))


def test_a_problem_result_and_an_age_rising_towards_the_threshold_need_attention() -> None:
    # GIVEN an enabled mapping whose last processing attempt failed, its age rising past
    # half the threshold but not to it
    health = _health("PROBLEM: Function call failed.", 10_000, 20_000, 35_000)
    # THEN both are reported, and it is not behind yet
    assert health.checks(60_000) == ["last processing result is a PROBLEM",
                                     "iterator age rising"]


def test_seconds_of_jitter_in_a_healthy_consumer_need_no_attention() -> None:
    # GIVEN an iterator age rising by a second a minute, far under the threshold
    health = _health("OK", 1_800, 1_900, 2_700)
    # THEN nothing is reported
    assert health.checks(60_000) == []
