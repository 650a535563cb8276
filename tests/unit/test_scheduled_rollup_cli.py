"""Reading roll-ups back (AggregateReader.rollups, `shardline query --resolution`) and
`shardline rollup run`, against the embedded AWS; every bad flag is one line."""

from __future__ import annotations

import json
import statistics
import uuid
from collections.abc import Iterator
from decimal import Decimal

import boto3
import pytest
from click.testing import CliRunner, Result

from lambdas.scheduled_rollup.logic import hour_rollups
from lambdas.shared.aggregates import BucketKey, Stats, total_item
from lambdas.shared.dynamo import batch_write
from shardline.cli import main
from shardline.local.embedded import EmbeddedAws
from shardline.query import AggregateReader
from tests.factories.dynamodb import create_aggregates_table
from tests.unit.test_cli import assert_one_line_error

HOUR = 1_767_225_600  # 2026-01-01T00:00


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(autouse=True)
def isolated_state(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def table(embedded_aws: EmbeddedAws) -> Iterator[tuple]:
    """An aggregates table holding the roll-ups of two devices at two sites over an hour."""
    name = f"aggregates-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=embedded_aws.endpoint_url,
                          region_name="us-east-1")
    create_aggregates_table(client, name)
    totals = [total_item(BucketKey(device, site, "temperature_c", HOUR + 60 * minute),
                         Stats.of(Decimal(minute)), 1)
              for device, site in (("dev-a", "site-1"), ("dev-b", "site-2"))
              for minute in (0, 4, 5, 59)]
    batch_write(client, name, hour_rollups(totals))
    yield client, name
    client.delete_table(TableName=name)


def test_the_reader_reads_rollups_by_scope_resolution_and_range(table):
    # GIVEN the hour's roll-ups
    client, name = table
    reader = AggregateReader(name, client)
    # WHEN the fleet's 5-minute roll-ups of the first ten minutes are read
    fleet = reader.rollups("fleet", "temperature_c", resolution_s=300, since_s=HOUR,
                           until_s=HOUR + 599)
    # THEN the two periods come back, oldest first, exact
    assert [(r.period_label, r.devices, r.stats.count, r.stats.total) for r in fleet] == [
        ("2026-01-01T00:00", 2, 4, Decimal("8")), ("2026-01-01T00:05", 2, 2, Decimal("10"))]
    # AND a period overlapping the range's start is included; hours and scopes apart
    site = reader.rollups("site", "temperature_c", resolution_s=300, since_s=HOUR + 3599,
                          until_s=HOUR + 3599, site="site-1")
    assert [(r.period_label, r.stats.count, r.stats.total) for r in site] == [
        ("2026-01-01T00:55", 1, Decimal("59"))]
    device = reader.rollups("device", "temperature_c", resolution_s=3600, since_s=HOUR,
                            until_s=HOUR, device="dev-b")
    assert [(r.period_label, r.name, r.minutes, r.stats.total) for r in device] == [
        ("2026-01-01T00", "dev-b", 4, Decimal("68"))]
    # AND the device's minute series is not affected by its roll-ups
    assert reader.series("dev-b", "temperature_c", since_s=HOUR, until_s=HOUR + 3599) == []


def test_query_shows_site_and_fleet_rollups(table, embedded_aws, monkeypatch):
    # GIVEN the hour's roll-ups, and "now" one minute after that hour
    _client, name = table
    monkeypatch.setattr("time.time", lambda: HOUR + 3660)
    # WHEN the CLI asks for a site's hourly and the fleet's 5-minute roll-ups
    common = ["--metric", "temperature_c", "--since", "2h", "--format", "json", "--table",
              name, "--endpoint", embedded_aws.endpoint_url]
    site = run("query", "--site", "site-2", "--resolution", "1h", *common)
    fleet = run("query", "--fleet", "--resolution", "5m", *common)
    # THEN they print exact rows
    assert site.exit_code == 0, site.output
    (row,) = json.loads(site.output)
    assert row == {"time": "2026-01-01T00:00:00Z", "metric": "temperature_c", "count": 4,
                   "mean": 17.0, "min": 0.0, "max": 59.0, "stddev": row["stddev"],
                   "sum": "68", "devices": 1, "source": "rollup"}
    assert row["stddev"] == pytest.approx(statistics.pstdev([0, 4, 5, 59]))
    assert fleet.exit_code == 0, fleet.output
    assert [row["time"] for row in json.loads(fleet.output)] == [
        "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z", "2026-01-01T00:55:00Z"]


@pytest.mark.parametrize(("args", "fragment"), [
    (("--metric", "m"), "select exactly one of a device, a site or the fleet"),
    (("--metric", "m", "--device", "d", "--fleet"), "(got device and fleet)"),
    (("--metric", "m", "--site", "s"), "a site has no per-minute data"),
    (("--metric", "m", "--fleet", "--resolution", "1m"), "a fleet has no per-minute data"),
    (("--metric", "m", "--fleet", "--resolution", "10m"), "invalid resolution '10m'"),
])
def test_bad_scope_combinations_are_one_line_errors(args, fragment):
    result = run("query", *args, "--table", "t", "--endpoint", "http://127.0.0.1:9")
    assert_one_line_error(result, 2, fragment)


def test_rollup_run_refuses_a_malformed_hour():
    result = run("rollup", "run", "--hour", "2026-11-23 10", "--endpoint", "http://127.0.0.1:9")
    assert_one_line_error(result, 2, "invalid --hour '2026-11-23 10'")


def test_rollup_run_of_a_missing_function_is_a_one_line_error(embedded_aws):
    result = run("rollup", "run", "--function", "no-such-function", "--endpoint",
                 embedded_aws.endpoint_url)
    assert_one_line_error(result, 3, "not found")
