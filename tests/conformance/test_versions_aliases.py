"""Published versions and aliases, as the Lambda developer guide describes them ("Manage
Lambda function versions", "Lambda function aliases", "Implement Lambda canary
deployments using a weighted alias"): a version is an immutable snapshot of code and
configuration; an alias points to a version, and moving it switches the next invocation;
a weighted alias splits invocations between two published versions; a mapping on an
alias follows the alias."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.conformance.harness import PRELUDE, Harness

T0 = 1_893_456_000.0  # 2030-01-01T00:00:00Z

RELEASE = """
def lambda_handler(event, context):
    seen({"release": RELEASE, "colour": os.environ.get("COLOUR"),
          "version": context.function_version,
          "records": payloads(event)})
    return {"release": RELEASE, "colour": os.environ.get("COLOUR"),
            "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")}
"""


def _release(number: int) -> str:
    return f"RELEASE = {number}\n" + RELEASE


def _deploy(harness: Harness, name: str, number: int) -> None:
    """Upload new code to $LATEST under the same handler (what `terraform apply` does)."""
    lambda_client = harness.client("lambda")
    handler = lambda_client.get_function_configuration(FunctionName=name)["Handler"]
    package = handler.split(".")[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{package}/__init__.py", "")
        archive.writestr(f"{package}/handler.py", PRELUDE + _release(number))
    lambda_client.update_function_code(FunctionName=name, ZipFile=buffer.getvalue())


def _invoke(harness: Harness, name: str) -> dict:
    response = harness.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    return json.loads(response["Payload"].read())


def _two_versions(harness: Harness, name: str) -> None:
    """Version 1 (release 1, red) and version 2 (release 2, blue); $LATEST is release 3."""
    harness.runtime.refresh_interval_s = 0.0
    lambda_client = harness.client("lambda")
    harness.function(name, _release(1), environment={"COLOUR": "red"})
    lambda_client.publish_version(FunctionName=name)
    _deploy(harness, name, 2)
    lambda_client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"COLOUR": "blue"}})
    lambda_client.publish_version(FunctionName=name)
    _deploy(harness, name, 3)


def test_a_version_runs_its_snapshot_after_latest_changed(harness: Harness) -> None:
    # GIVEN two published versions and a $LATEST changed since
    _two_versions(harness, "snap")

    # WHEN each is invoked by its qualifier
    # THEN each runs its own code and configuration, and knows its version
    assert _invoke(harness, "snap:1") == {"release": 1, "colour": "red", "version": "1"}
    assert _invoke(harness, "snap:2") == {"release": 2, "colour": "blue", "version": "2"}
    assert _invoke(harness, "snap") == {"release": 3, "colour": "blue",
                                        "version": "$LATEST"}
    assert _invoke(harness, "snap:$LATEST")["release"] == 3


def test_an_alias_update_switches_the_next_invocation(harness: Harness) -> None:
    # GIVEN an alias `live` on version 1, invoked once (loaded and warm)
    _two_versions(harness, "flip")
    lambda_client = harness.client("lambda")
    lambda_client.create_alias(FunctionName="flip", Name="live", FunctionVersion="1")
    assert _invoke(harness, "flip:live")["release"] == 1

    # WHEN the alias moves to version 2 THEN the next invocation runs version 2
    lambda_client.update_alias(FunctionName="flip", Name="live", FunctionVersion="2")
    assert _invoke(harness, "flip:live") == {"release": 2, "colour": "blue", "version": "2"}

    # WHEN it moves back (a rollback) THEN version 1 runs again
    lambda_client.update_alias(FunctionName="flip", Name="live", FunctionVersion="1")
    assert _invoke(harness, "flip:live") == {"release": 1, "colour": "red", "version": "1"}


def test_a_weighted_alias_splits_invocations_by_weight(harness: Harness) -> None:
    # GIVEN `live` on version 1 with 20 % routed to version 2 (routing seeded)
    _two_versions(harness, "canary")
    harness.client("lambda").create_alias(
        FunctionName="canary", Name="live", FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}})

    # WHEN it is invoked 500 times through the alias
    releases = [_invoke(harness, "canary:live")["release"] for _ in range(500)]

    # THEN about a fifth ran version 2 and the rest version 1 (binomial, standard deviation about 9)
    assert set(releases) == {1, 2}
    assert 70 <= releases.count(2) <= 130


def test_a_mapping_on_the_alias_follows_the_alias(harness: Harness) -> None:
    # GIVEN a stream mapping on `sink:live`, the alias on version 1
    harness.clock.advance_to(T0)
    stream = harness.stream("telemetry")
    _two_versions(harness, "sink")
    lambda_client = harness.client("lambda")
    alias_arn = lambda_client.create_alias(FunctionName="sink", Name="live",
                                           FunctionVersion="1")["AliasArn"]
    uuid = harness.map(stream, "sink:live")
    harness.start()
    harness.put(stream, ["a"])
    harness.advance(1.5)

    # WHEN the alias moves to version 2 and more records arrive
    lambda_client.update_alias(FunctionName="sink", Name="live", FunctionVersion="2")
    harness.put(stream, ["b"])
    harness.advance(1.5)

    # THEN the mapping names the alias, the first batch ran version 1, the next version 2
    assert lambda_client.get_event_source_mapping(UUID=uuid)["FunctionArn"] == alias_arn
    runs = [(seen["release"], seen["records"]) for seen in harness.seen("sink")]
    assert runs == [(1, ["a"]), (2, ["b"])]


@pytest.mark.parametrize("version, weights", [
    ("$LATEST", {"2": 0.5}),  # both versions must be published
    ("1", {"2": 1.5}),  # a weight is between 0.0 and 1.0
    ("1", {"1": 0.5}),  # the additional version is another version
])
def test_a_weighted_alias_aws_refuses_is_refused(harness: Harness, version: str,
                                                 weights: dict[str, float]) -> None:
    # GIVEN two published versions
    _two_versions(harness, "refused")

    # WHEN an alias is created with a routing AWS does not allow THEN it is refused
    with pytest.raises(ClientError) as refused:
        harness.client("lambda").create_alias(
            FunctionName="refused", Name="live", FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"


FAILING = """
def lambda_handler(event, context):
    seen({"version": context.function_version})
    raise RuntimeError("release 1 is broken")
"""


def test_async_settings_are_the_alias_s_and_its_failures_name_the_version(
        harness: Harness) -> None:
    # GIVEN a failing version 1 behind `live`; async settings on the alias (no retries,
    # an on-failure queue) and none on $LATEST (whose default is two retries)
    harness.clock.current = T0
    queue_url, queue_arn = harness.queue("alias-failures")
    function_arn = harness.function("broken", FAILING)
    lambda_client = harness.client("lambda")
    lambda_client.publish_version(FunctionName="broken")
    lambda_client.create_alias(FunctionName="broken", Name="live", FunctionVersion="1")
    lambda_client.put_function_event_invoke_config(
        FunctionName="broken", Qualifier="live", MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    harness.start()

    # WHEN an event is invoked asynchronously through the alias and ten minutes pass
    lambda_client.invoke(FunctionName="broken:live", InvocationType="Event", Payload=b"{}")
    harness.advance(600)

    # THEN it ran once, as version 1, and its failure record names the alias and version
    assert harness.seen("broken") == [{"version": "1"}]
    (record,) = harness.messages(queue_url)
    assert record["requestContext"]["functionArn"] == f"{function_arn}:live"
    assert record["responseContext"]["executedVersion"] == "1"
    assert lambda_client.get_function_event_invoke_config(
        FunctionName="broken", Qualifier="live")["MaximumRetryAttempts"] == 0
    with pytest.raises(ClientError):
        lambda_client.get_function_event_invoke_config(FunctionName="broken")


def test_a_mapping_moved_onto_the_alias_names_it(harness: Harness) -> None:
    # GIVEN a mapping created on the unqualified function (as before the alias existed)
    harness.clock.advance_to(T0)
    stream = harness.stream("moved")
    _two_versions(harness, "moved")
    lambda_client = harness.client("lambda")
    alias_arn = lambda_client.create_alias(FunctionName="moved", Name="live",
                                           FunctionVersion="2")["AliasArn"]
    uuid = harness.map(stream, "moved")

    # WHEN it is updated onto the alias (what `terraform apply` of this change does)
    lambda_client.update_event_source_mapping(UUID=uuid, FunctionName="moved:live")

    # THEN it names the alias, not the version the alias points to today
    assert lambda_client.get_event_source_mapping(UUID=uuid)["FunctionArn"] == alias_arn


POISON = """
def lambda_handler(event, context):
    seen({"version": context.function_version})
    raise RuntimeError("release 1 cannot read this")
"""


def test_a_stream_failure_record_names_the_alias_and_the_version_that_ran(
        harness: Harness) -> None:
    # GIVEN a failing version 1 behind `live`, mapped with no retries to an on-failure queue
    harness.clock.advance_to(T0)
    stream = harness.stream("poisoned")
    queue_url, queue_arn = harness.queue("stream-failures")
    harness.function("poisoned", POISON)
    lambda_client = harness.client("lambda")
    lambda_client.publish_version(FunctionName="poisoned")
    alias_arn = lambda_client.create_alias(FunctionName="poisoned", Name="live",
                                           FunctionVersion="1")["AliasArn"]
    harness.map(stream, "poisoned:live", MaximumRetryAttempts=0,
                DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    harness.start()

    # WHEN a record arrives
    harness.put(stream, ["bad"])
    harness.advance(2)

    # THEN its batch is skipped with a record naming the alias and the version that failed
    (record,) = harness.messages(queue_url)
    assert record["requestContext"]["functionArn"] == alias_arn
    assert record["responseContext"]["executedVersion"] == "1"
