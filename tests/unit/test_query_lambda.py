"""The query Lambda (GET /query and the page at GET / of the HTTP query API) on payload
format 2.0 events,
against the embedded DynamoDB table of tests/unit/query_data.py: the same rows as
``shardline.query.query``, 400 with a message for a malformed request, 404 for an
unknown device, site or metric."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.query import config, handler, page
from shardline.local.embedded import EmbeddedAws
from shardline.query import query
from tests.factories.http_api import http_api_event
from tests.factories.kinesis import lambda_context
from tests.unit.query_data import HUMIDITY, ROLLED_UP_MINUTES, TEMPERATURE, query_table

__all__ = ["query_table"]  # the fixture, imported for pytest

RANGE = "2026-01-01T00:00Z/2026-01-01T00:15Z"


@pytest.fixture
def api(query_table: tuple[Any, str], embedded_aws: EmbeddedAws,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """The handler configured with the test table, reading through the embedded AWS."""
    monkeypatch.setenv("AGGREGATES_TABLE", query_table[1])
    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    config.get_config.cache_clear()
    handler._reader.cache_clear()
    yield query_table
    config.get_config.cache_clear()
    handler._reader.cache_clear()


def call(**query_parameters: Any) -> dict[str, Any]:
    event = http_api_event("/query", query=query_parameters)
    return handler.lambda_handler(event, lambda_context("query"))


def test_a_site_query_answers_the_rows_query_reads(api):
    # GIVEN plant-a's roll-ups per 5 minutes
    client, table = api
    # WHEN GET /query asks for them over an ISO range
    response = call(site="plant-a", metric=TEMPERATURE, range=RANGE, resolution="5m")
    # THEN the answer is 200 JSON with exactly the rows of the Python API
    expected = query(site="plant-a", metrics=TEMPERATURE, interval=RANGE, resolution="5m",
                     table=table, client=client)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == json.loads(expected.to_json())
    assert len(json.loads(response["body"])) == ROLLED_UP_MINUTES // 5  # rolled up only


def test_repeated_metrics_arrive_comma_joined_and_csv_is_csv(api):
    # GIVEN a device with two metrics
    client, table = api
    # WHEN both are asked for (metric repeated: payload 2.0 joins them with a comma) as CSV
    response = call(device="dev-00001", metric=[TEMPERATURE, HUMIDITY], range=RANGE,
                    resolution="5m", format="csv")
    # THEN the body is the CSV of the Python API's result, both metrics in the order asked
    expected = query(device="dev-00001", metrics=[TEMPERATURE, HUMIDITY], interval=RANGE,
                     resolution="5m", table=table, client=client)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/csv"
    assert response["body"] == expected.to_csv()
    assert {row.metric for row in expected} == {TEMPERATURE, HUMIDITY}


@pytest.mark.parametrize(("parameters", "message"), [
    ({"site": "plant-a", "metric": TEMPERATURE, "resolution": "1m"}, "no per-minute data"),
    ({"site": "plant-a", "device": "dev-00001", "metric": TEMPERATURE},
     "select exactly one"),
    ({"site": "plant-a"}, "name at least one metric"),
    ({"site": "plant-a", "metric": "Temperature"}, "invalid metric name"),
    ({"site": "plant-a", "metric": TEMPERATURE, "format": "xml"}, "invalid format"),
    ({"site": "plant-a", "metric": TEMPERATURE, "sinse": "1h"}, "unknown parameter 'sinse'"),
    ({"site": "plant-a", "metric": TEMPERATURE, "resolution": "5m", "since": "yesterday"},
     "yesterday"),
    ({"fleet": "maybe", "metric": TEMPERATURE}, "invalid fleet"),
])
def test_a_malformed_request_is_a_400_with_a_message(api, parameters, message):
    # GIVEN a request the query API cannot answer as asked
    # WHEN it reaches the function
    response = call(**parameters)
    # THEN it is refused with 400 and a one-line message saying what is wrong
    assert response["statusCode"] == 400
    assert message in json.loads(response["body"])["message"]


@pytest.mark.parametrize(("parameters", "message"), [
    ({"device": "dev-09999", "metric": TEMPERATURE}, "unknown device"),
    ({"device": "dev-00002", "metric": HUMIDITY}, "unknown metric"),
    ({"site": "plant-z", "metric": TEMPERATURE, "resolution": "5m"}, "unknown site"),
])
def test_an_unknown_device_site_or_metric_is_a_404(api, parameters, message):
    # GIVEN a well-formed request for something the table holds no data of
    # WHEN it reaches the function
    response = call(**parameters, range=RANGE)
    # THEN the answer is 404 with the query API's message
    assert response["statusCode"] == 404
    assert message in json.loads(response["body"])["message"]


def test_the_fleet_flag_reads_the_fleet(api):
    # GIVEN the fleet's roll-ups WHEN fleet=true asks per hour
    client, table = api
    response = call(fleet="true", metric=TEMPERATURE, range=RANGE, resolution="1h")
    # THEN the rows are the fleet's
    expected = query(fleet=True, metrics=TEMPERATURE, interval=RANGE, resolution="1h",
                     table=table, client=client)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == json.loads(expected.to_json())
    assert expected.rows and expected.scope == "fleet"


def test_the_page_is_served_with_a_policy_allowing_only_its_own_script_and_style(api):
    # GIVEN the function in its region
    # WHEN a browser navigates to GET /
    response = handler.lambda_handler(http_api_event("/"), lambda_context("query"))
    # THEN the answer is the HTML page, its script configured for the function's region
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    html = response["body"]
    config_block = html.split('<script type="application/json" id="config">')[1]
    assert json.loads(config_block.split("</script>")[0]) == {"region": "us-east-1"}
    # AND its policy names exactly the inline script's and style's hashes, and lets the
    # page talk to its own origin only
    policy = dict(directive.split(" ", 1) for directive in
                  response["headers"]["Content-Security-Policy"].split("; "))
    script = html.split("<script>")[1].split("</script>")[0]
    style = html.split("<style>")[1].split("</style>")[0]
    assert policy["script-src"] == _hash_source(script)
    assert policy["style-src"] == _hash_source(style)
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


def test_a_region_cannot_end_the_config_block_or_open_a_comment():
    # GIVEN a value holding markup WHEN the page is rendered for it
    rendered = page.render("<!--<script></script>&")
    # THEN the data block stays one JSON value, no markup in it, beside the one script
    block = rendered.html.split('<script type="application/json" id="config">')[1]
    block = block.split("</script>")[0]
    assert json.loads(block) == {"region": "<!--<script></script>&"}
    assert "<" not in block and "&" not in block
    assert rendered.html.count("</script>") == 2


def _hash_source(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"
