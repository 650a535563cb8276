"""The query page (``GET /`` of the HTTP query API) in headless Chromium: the analyst
pastes credentials, picks a site, a metric, a range and a resolution, and the chart drawn
is the answer of the same ``GET /query`` (signed by the page with SigV4, authorized by
IAM in the local API Gateway, answered by the query Lambda's own package).

"How did temperature at plant-a look over the last hour, per 5 minutes", on the page."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from lambdas.scheduled_rollup.logic import hour_rollups
from lambdas.shared.aggregates import BucketKey, total_item
from lambdas.shared.dynamo import batch_write
from shardline.local.api_server import ApiServer
from shardline.local.embedded import EmbeddedAws, reset_backends
from tests.conformance.harness import Harness
from tests.conformance.http_api_client import (
    ACCOUNT,
    REGION,
    http_api,
    invoke_statement,
    query_function,
    send,
    served,
    user_keys,
)
from tests.factories.aggregates import stats_of
from tests.factories.dynamodb import create_aggregates_table
from tests.support.browser import headless_chromium

TABLE = "aggregates"
DEVICES = ("dev-page-01", "dev-page-02", "dev-page-03")
# Minutes of the last hour with readings: a 10-minute gap, so the mean line breaks.
MINUTES = [minute for minute in range(60) if not 25 <= minute < 35]

# What the page drew, read from its SVG (and the request it says it sent).
READ_CHART = """
const svg = document.querySelector("#chart svg");
const all = (selector) => svg ? [...svg.querySelectorAll(selector)] : [];
const attributes = (node, names) => Object.fromEntries(names.map((n) => [n, node.getAttribute(n)]));
return {
  state: document.body.dataset.state,
  status: document.getElementById("status").textContent,
  request: document.getElementById("request").textContent,
  points: all("circle.point").map((n) => attributes(n, ["cx", "cy", "data-time", "data-mean"])),
  bands: all("rect.band").map((n) => attributes(n, ["x", "y", "width", "height", "data-time"])),
  ticks: all("g.tick.y").map((n) => ({value: n.dataset.value,
    y: n.querySelector("line").getAttribute("y1"), label: n.querySelector("text").textContent})),
  mean: svg ? svg.querySelector("path.mean").getAttribute("d") : "",
  tableRows: document.querySelectorAll("#rows tbody tr").length,
};
"""


@dataclass(frozen=True)
class Page:
    harness: Harness
    server: ApiServer
    api_id: str


def _readings(device: int, minute: int) -> tuple[str, str]:
    base = Decimal(20) + device + Decimal(minute % 20) / 4
    return str(base), str(base + Decimal("1.5"))


def _items(start_s: int) -> list[dict[str, Any]]:
    """plant-a's minute totals over the hour from ``start_s``, and plant-flat's (one device
    whose readings differ by a float's last digit); and the scheduled rollup's roll-ups of
    each hour they fall in (the real aggregates layer writes both)."""
    totals = [total_item(BucketKey(device, "plant-a", "temperature_c", start_s + minute * 60),
                         stats_of(*_readings(index, minute)), 1)
              for index, device in enumerate(DEVICES) for minute in MINUTES]
    totals += [total_item(BucketKey("dev-flat-01", "plant-flat", "temperature_c",
                                    start_s + minute * 60),
                          stats_of("20", "20.000000000000004"), 1) for minute in MINUTES]
    hours = {int(item["bucket"]) // 3600 for item in totals}
    return totals + [rollup for hour in sorted(hours) for rollup in hour_rollups(
        [item for item in totals if int(item["bucket"]) // 3600 == hour])]


@pytest.fixture
def page(embedded_aws: EmbeddedAws, tmp_path: Path) -> Iterator[Page]:
    """The query Lambda's package behind GET / (no authorization) and GET /query (IAM),
    over a table holding plant-a's last hour, served on localhost; the function in its own
    execution environment under its role, IAM enforced, as in ``local up``."""
    reset_backends()
    harness = Harness(embedded_aws, tmp_path, isolation="process", iam=True)
    dynamodb = harness.client("dynamodb")
    create_aggregates_table(dynamodb, TABLE)
    now_s = int(datetime.now().timestamp())
    batch_write(dynamodb, TABLE, _items(now_s // 300 * 300 - 3600))
    harness.grant({"Effect": "Allow", "Action": "dynamodb:Query",
                   "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}*"})
    function = query_function(harness, tmp_path, TABLE,
                              POWERTOOLS_METRICS_NAMESPACE="shardline-page-test")
    api_id = http_api(harness, function, routes={"GET /": "NONE", "GET /query": "AWS_IAM"})
    try:
        with served(harness) as server:
            yield Page(harness, server, api_id)
    finally:
        harness.close()
        reset_backends()


def _analyst(page: Page) -> Credentials:
    return user_keys(page.harness, "analyst", invoke_statement(page.api_id))


def _show(page: Page, credentials: str, *, fields: dict[str, str] | None = None,
          host: str = "127.0.0.1") -> dict[str, Any]:
    """Open the page (at ``host``, resolved to the local server), type ``fields`` (name →
    text) over the form's defaults (site plant-a, temperature_c, the last hour, per 5
    minutes), paste ``credentials``, click Show; what the page drew."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with headless_chromium(f"--host-resolver-rules=MAP {host} 127.0.0.1") as browser:
        browser.get(page.server.url.replace("127.0.0.1", host) + "/")
        for name, text in (fields or {}).items():
            field = browser.find_element(By.NAME, name)
            field.clear()
            field.send_keys(text)
        browser.find_element(By.ID, "credentials").send_keys(credentials)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 60).until(lambda driver: driver.find_element(
            By.TAG_NAME, "body").get_attribute("data-state") in ("ready", "error"))
        return dict(browser.execute_script(READ_CHART))


def _line(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """(offset, slope) of the line through the first and last (value, pixel) pairs."""
    (v0, p0), (v1, p1) = pairs[0], pairs[-1]
    slope = (p1 - p0) / (v1 - v0)
    return p0 - slope * v0, slope


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_the_chart_is_the_answer_of_the_same_query(page: Page) -> None:
    # GIVEN an analyst allowed to invoke GET /query, with an access key
    analyst = _analyst(page)
    pasted = json.dumps({"AccessKeyId": analyst.access_key,
                         "SecretAccessKey": analyst.secret_key})
    # WHEN they chart plant-a's temperature over the last hour, per 5 minutes
    chart = _show(page, pasted)
    # AND the request the page says it sent is made again, signed as an SDK signs it
    assert chart["state"] == "ready", chart["status"]
    method, path = chart["request"].split(" ", 1)
    answer = send(page.server.url, path, signer=analyst)
    assert method == "GET" and answer.status == 200
    rows = answer.json()
    # THEN that was the question: plant-a, temperature_c, an hour, 5 minutes
    assert "site=plant-a" in path and "metric=temperature_c" in path
    assert "resolution=5m" in path and len(rows) >= 8  # 10, or 9 past a 5-minute mark
    # AND one point and one min-max bar per row, for the row's period and mean
    assert [point["data-time"] for point in chart["points"]] == [row["time"] for row in rows]
    assert [float(point["data-mean"]) for point in chart["points"]] == [
        row["mean"] for row in rows]
    assert [band["data-time"] for band in chart["bands"]] == [row["time"] for row in rows]
    assert chart["tableRows"] == len(rows)
    # AND every point and bar sits on one linear scale per axis (values up, time right)
    y_at, y_per = _line([(row["mean"], float(point["cy"]))
                         for row, point in zip(rows, chart["points"], strict=True)])
    x_at, x_per = _line([(_epoch(row["time"]) + 150, float(point["cx"]))
                         for row, point in zip(rows, chart["points"], strict=True)])
    assert y_per < 0 < x_per
    for row, point, band in zip(rows, chart["points"], chart["bands"], strict=True):
        assert float(point["cy"]) == pytest.approx(y_at + y_per * row["mean"], abs=0.02)
        assert float(point["cx"]) == pytest.approx(x_at + x_per * (_epoch(row["time"]) + 150),
                                                   abs=0.02)
        assert float(band["y"]) == pytest.approx(y_at + y_per * row["max"], abs=0.02)
        assert float(band["y"]) + float(band["height"]) == pytest.approx(
            y_at + y_per * row["min"], abs=0.03)
        assert float(band["x"]) == pytest.approx(x_at + x_per * _epoch(row["time"]), abs=0.02)
        assert float(band["width"]) == pytest.approx(x_per * 300, abs=0.03)
    # AND the y axis's labels sit where the scale puts their values
    assert len(chart["ticks"]) >= 3
    for tick in chart["ticks"]:
        assert float(tick["label"]) == float(tick["value"])
        assert float(tick["y"]) == pytest.approx(y_at + y_per * float(tick["value"]), abs=0.02)
    # AND the mean line breaks where periods are missing: one stroke per unbroken run
    starts = [_epoch(row["time"]) for row in rows]
    runs = 1 + sum(1 for a, b in itertools.pairwise(starts) if b - a != 300)
    assert chart["mean"].count("M") == runs >= 2


def test_without_credentials_or_with_a_wrong_secret_the_page_says_why(page: Page) -> None:
    # GIVEN an analyst's key
    analyst = _analyst(page)
    # WHEN the page is used with no credentials, or with a secret that is not the key's
    unsigned = _show(page, "")
    wrong = _show(page, json.dumps({"AccessKeyId": analyst.access_key,
                                    "SecretAccessKey": "not-the-secret"}))
    # THEN no chart is drawn and each says what API Gateway answered
    assert unsigned["state"] == wrong["state"] == "error"
    assert not unsigned["points"] and not wrong["points"]
    assert unsigned["status"] == "403: Forbidden (paste credentials)"
    assert wrong["status"].startswith("403: The request signature we calculated does not match")


def test_temporary_credentials_with_a_session_token_sign_too(page: Page) -> None:
    # GIVEN a role allowed to invoke GET /query, and temporary credentials of it from STS
    iam = page.harness.client("iam")
    role = iam.create_role(RoleName="analyst-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": ACCOUNT}}]}))["Role"]
    iam.put_role_policy(RoleName="analyst-role", PolicyName="invoke", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [invoke_statement(page.api_id)]}))
    issued = page.harness.client("sts").assume_role(RoleArn=role["Arn"],
                                                    RoleSessionName="analyst")
    # WHEN the page is given what `aws sts assume-role` prints (with its session token)
    chart = _show(page, json.dumps({"Credentials": {
        **{key: issued["Credentials"][key]
           for key in ("AccessKeyId", "SecretAccessKey", "SessionToken")},
        "Expiration": issued["Credentials"]["Expiration"].isoformat()}}))
    # THEN the signed request is authorized and the chart drawn
    assert chart["state"] == "ready", chart["status"]
    assert chart["points"]


def test_values_a_float_apart_draw_flat_on_a_few_ticks(page: Page) -> None:
    # GIVEN a site whose readings differ only in a float's last digit
    analyst = _analyst(page)
    # WHEN the page charts it
    chart = _show(page, json.dumps({"AccessKeyId": analyst.access_key,
                                    "SecretAccessKey": analyst.secret_key}),
                  fields={"selection": "plant-flat"})
    # THEN the chart is drawn, its points level, on a handful of round ticks
    assert chart["state"] == "ready", chart["status"]
    assert len(chart["points"]) >= 8
    assert len({point["cy"] for point in chart["points"]}) == 1
    assert 1 <= len(chart["ticks"]) <= 20


def test_a_malformed_metric_or_long_term_keys_off_this_machine_are_refused(page: Page) -> None:
    # GIVEN an analyst's long-term access key (no session token)
    analyst = _analyst(page)
    pasted = json.dumps({"AccessKeyId": analyst.access_key,
                         "SecretAccessKey": analyst.secret_key})
    # WHEN two metrics are typed into the metric box, or the page is reached by a name
    # other than this machine's
    two_metrics = _show(page, pasted, fields={"metric": "temperature_c,humidity_pct"})
    remote = _show(page, pasted, host="query.example.test")
    # THEN each is refused in the page, before anything is sent, saying what to do
    assert two_metrics["state"] == remote["state"] == "error"
    assert two_metrics["status"] == "name one metric, in lower case, e.g. temperature_c"
    assert remote["status"].startswith("credentials: paste temporary credentials")
    assert two_metrics["request"] == remote["request"] == ""
