"""`shardline query` on the query API, and its plots (tests/unit/query_data.py's table on
the embedded DynamoDB): output formats, `--plot`, and one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from matplotlib import dates

from shardline.cli import main
from shardline.query import QueryError, query
from shardline.query.plot import figure_of, save_plot
from tests.unit.query_data import HOUR, HUMIDITY, MINUTES, TEMPERATURE, expected, query_table
from tests.unit.test_cli import assert_one_line_error

__all__ = ["query_table"]  # the fixture, imported for pytest

NOW = HOUR + MINUTES * 60
START = datetime.fromtimestamp(HOUR, UTC)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """"now" is just after the table's last minute; no stack outputs here."""
    monkeypatch.setattr("time.time", lambda: NOW)
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(tmp_path / "state"))


def run(table, *args: str) -> Result:
    _client, name = table
    endpoint = _client.meta.endpoint_url
    return CliRunner().invoke(main, ["query", *args, "--table", name, "--endpoint", endpoint])


def test_plant_a_temperature_over_the_last_hour_per_5_minutes(query_table):
    # WHEN the CLI asks how temperature at plant-a looked over the last hour, per 5 minutes
    result = run(query_table, "--site", "plant-a", "--metric", TEMPERATURE, "--since", "1h",
                 "--resolution", "5m", "--format", "json")
    # THEN it prints the site's rolled-up periods with their statistics
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["time"] for row in rows] == ["2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"]
    want = expected(None, TEMPERATURE, 0, 5, site="plant-a")
    assert {key: rows[0][key] for key in want} == pytest.approx(want)


def test_several_metrics_as_csv_and_as_a_table(query_table):
    # WHEN a device's two metrics are asked for over an ISO range, as CSV and as a table
    args = ("--device", "dev-00001", "--metric", TEMPERATURE, "--metric", HUMIDITY,
            "--range", "2026-01-01T00:00Z/2026-01-01T00:02Z")
    as_csv = run(query_table, *args, "--format", "csv")
    as_table = run(query_table, *args)
    # THEN the CSV has a header and two minutes per metric; the table names the selection
    assert as_csv.exit_code == 0, as_csv.output
    lines = as_csv.output.splitlines()
    assert lines[0] == "time,metric,count,mean,min,max,stddev,sum,devices,source"
    assert [line.split(",")[1] for line in lines[1:]] == [TEMPERATURE] * 2 + [HUMIDITY] * 2
    assert as_table.exit_code == 0, as_table.output
    assert "device dev-00001" in as_table.output and "stddev" in as_table.output


def test_a_range_without_data_says_so_and_succeeds(query_table):
    # WHEN a known device's minutes are asked for a day before its data, as a table and JSON
    args = ("--device", "dev-00001", "--metric", TEMPERATURE, "--since", "1d", "--until",
            "23h")
    table = run(query_table, *args)
    as_json = run(query_table, *args, "--format", "json")
    # THEN the table says there is no data, JSON is an empty list, and both succeed
    assert table.exit_code == 0, table.output
    assert table.output.startswith("no temperature_c data for device dev-00001 from ")
    assert (as_json.exit_code, json.loads(as_json.output)) == (0, [])


def test_plot_writes_the_png_and_prints_its_path(query_table, tmp_path):
    # WHEN the CLI plots two metrics of a device
    target = tmp_path / "dev.png"
    result = run(query_table, "--device", "dev-00001", "--metric", TEMPERATURE, "--metric",
                 HUMIDITY, "--since", "15m", "--resolution", "5m", "--plot", str(target))
    # THEN it prints the path of a PNG it wrote, and nothing else
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_figure_has_a_panel_per_metric_with_the_means_over_a_min_max_band(query_table):
    # GIVEN a two-metric query per 5 minutes
    client, name = query_table
    result = query(device="dev-00001", metrics=[TEMPERATURE, HUMIDITY], since="15m",
                   resolution="5m", table=name, client=client, now=NOW)
    # WHEN its figure is drawn
    figure = figure_of(result)
    # THEN there is one panel per metric, in order, on a concise date axis
    panels = figure.axes
    assert [panel.get_ylabel() for panel in panels] == [TEMPERATURE, HUMIDITY]
    assert isinstance(panels[-1].xaxis.get_major_formatter(), dates.ConciseDateFormatter)
    assert "device dev-00001" in figure.get_suptitle()
    for panel, metric in zip(panels, result.metrics, strict=True):
        rows = result.series(metric)
        (line,) = panel.get_lines()
        # AND its line is the query's means at the periods' middles
        assert list(line.get_ydata()) == [row.mean for row in rows]
        assert list(line.get_xdata()) == [START + timedelta(minutes=5 * i + 2.5)
                                          for i in range(3)]
        # AND its band is one bar per period, spanning the period from min to max
        bars = panel.patches
        assert [(bar.get_y(), bar.get_y() + bar.get_height()) for bar in bars] == [
            pytest.approx((row.min, row.max)) for row in rows]
        assert [bar.get_x() for bar in bars] == [
            dates.date2num(START + timedelta(minutes=5 * i)) for i in range(3)]
        assert {round(bar.get_width() * 24 * 60, 6) for bar in bars} == {5}
    # AND the axis shows the range asked for, not more
    assert panels[-1].get_xlim() == (dates.date2num(START),
                                     dates.date2num(START + timedelta(minutes=15)))


def test_save_plot_refuses_what_it_cannot_write(query_table, tmp_path):
    client, name = query_table
    result = query(device="dev-00001", metrics=TEMPERATURE, since="5m", table=name,
                   client=client, now=NOW)
    with pytest.raises(QueryError, match=r"must end in \.png"):
        save_plot(result, tmp_path / "plot.txt")
    with pytest.raises(QueryError, match="no directory"):
        save_plot(result, tmp_path / "missing" / "plot.png")


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (("--device", "dev-09999", "--metric", TEMPERATURE), 2, "unknown device 'dev-09999'"),
    (("--device", "dev-00001", "--metric", "pressure_hpa"), 2, "unknown metric"),
    (("--site", "plant-z", "--metric", TEMPERATURE, "--resolution", "1h"), 2, "unknown site"),
    (("--device", "dev-00001", "--metric", TEMPERATURE, "--since", "1h", "--until", "2h"), 2,
     "empty time range"),
    (("--device", "dev-00001", "--metric", TEMPERATURE, "--since", "soon"), 2,
     "invalid since 'soon'"),
    (("--device", "dev-00001", "--metric", TEMPERATURE, "--resolution", "10m"), 2,
     "invalid resolution '10m'"),
    (("--device", "dev-00001", "--metric", TEMPERATURE, "--format", "xml"), 2,
     "invalid --format 'xml'"),
    (("--device", "dev-00001"), 2, "name at least one --metric"),
    (("--metric", TEMPERATURE), 2, "select exactly one of a device, a site or the fleet"),
    (("--fleet", "--metric", TEMPERATURE), 2, "a fleet has no per-minute data"),
    (("--device", "dev-00001", "--metric", TEMPERATURE, "--since", "1d", "--until", "23h",
      "--plot", "x.png"), 2, "nothing to plot"),
    (("--device", "dev-00001", "--metric", TEMPERATURE, "--plot", "/nonexistent/x.png"), 2,
     "no directory"),
])
def test_every_bad_input_is_a_one_line_error(query_table, args, code, fragment):
    result = run(query_table, *args)
    assert_one_line_error(result, code, fragment)


def test_without_outputs_or_table_the_cli_asks_for_table(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    result = CliRunner().invoke(main, ["query", "--fleet", "--metric", TEMPERATURE,
                                       "--resolution", "1h"])
    assert_one_line_error(result, 2, "pass --table")
