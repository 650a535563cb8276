"""The Python query API (``shardline.query.query``) against the embedded DynamoDB, on items
the aggregates layer and the scheduled rollup's logic wrote (tests/unit/query_data.py)."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest

from shardline.errors import ShardlineError
from shardline.query import (
    EmptyRangeError,
    MissingExtraError,
    QueryError,
    UnknownDeviceError,
    UnknownMetricError,
    UnknownSiteError,
    query,
)
from shardline.query.model import COLUMNS
from tests.unit.query_data import (
    HOUR,
    HUMIDITY,
    MINUTES,
    ROLLED_UP_MINUTES,
    TEMPERATURE,
    expected,
    observed,
    query_table,
)

__all__ = ["query_table"]  # the fixture, imported for pytest

START = datetime.fromtimestamp(HOUR, UTC)
NOW = HOUR + MINUTES * 60  # just after the last minute with data


def ask(table, **kwargs):
    client, name = table
    return query(table=name, client=client, now=NOW, **kwargs)


def test_a_device_per_minute_reads_its_minute_totals(query_table):
    # GIVEN a device with two metrics and fifteen minutes of totals
    # WHEN both metrics are asked for per minute over an ISO interval of three minutes
    result = ask(query_table, device="dev-00001", metrics=[TEMPERATURE, HUMIDITY],
                 interval="2026-01-01T00:00Z/2026-01-01T00:03Z", resolution="1m")
    # THEN each metric has its three minutes, oldest first, in the order asked
    assert [(row.metric, row.time) for row in result] == [
        (metric, START + timedelta(minutes=m)) for metric in (TEMPERATURE, HUMIDITY)
        for m in range(3)]
    # AND each row's statistics are those of the minute's readings, from its total
    for row in result:
        minute = int((row.time - START).total_seconds()) // 60
        assert observed(row) == pytest.approx(expected("dev-00001", row.metric, minute, 1))
        assert row.source == "total"


def test_a_device_per_5_minutes_reads_rollups_then_merges_the_minutes_not_rolled_up(
        query_table):
    # GIVEN roll-ups of the first ten minutes only (the scheduled rollup ran at 00:10)
    # WHEN the device's temperature is asked for per 5 minutes over the last 15 minutes
    result = ask(query_table, device="dev-00001", metrics=TEMPERATURE, since="15m",
                 resolution="5m")
    # THEN three periods come back: two roll-ups and one merged from minute totals
    assert [(row.time, row.source) for row in result] == [
        (START, "rollup"), (START + timedelta(minutes=5), "rollup"),
        (START + timedelta(minutes=10), "totals")]
    # AND every period's statistics are those of its readings (stddev from sum of squares)
    for index, row in enumerate(result):
        assert observed(row) == pytest.approx(expected("dev-00001", TEMPERATURE, 5 * index, 5))


def test_a_site_per_5_minutes_and_the_fleet_per_hour_read_their_rollups(query_table):
    # WHEN plant-a's temperature is asked for per 5 minutes, and the fleet's per hour
    site = ask(query_table, site="plant-a", metrics=[TEMPERATURE], since="1h",
               resolution="5m")
    fleet = ask(query_table, fleet=True, metrics=[TEMPERATURE], since="1h", resolution="1h")
    # THEN the site's two rolled-up periods hold only its own device's readings
    assert [row.time for row in site] == [START, START + timedelta(minutes=5)]
    for index, row in enumerate(site):
        assert observed(row) == pytest.approx(
            expected(None, TEMPERATURE, 5 * index, 5, site="plant-a"))
    # AND the fleet's hour merges both devices' rolled-up minutes
    (hour,) = fleet.rows
    assert (hour.time, hour.source) == (START, "rollup")
    assert observed(hour) == pytest.approx(expected(None, TEMPERATURE, 0, ROLLED_UP_MINUTES))
    assert (site.selection, fleet.selection) == ("site plant-a", "fleet")


def test_a_known_series_with_nothing_in_the_range_is_an_empty_result(query_table):
    # WHEN a known device's minutes are asked for a day before its data
    result = ask(query_table, device="dev-00001", metrics=TEMPERATURE,
                 since="2025-12-31T00:00Z", until="2025-12-31T01:00Z")
    # THEN the result is empty, not an error
    assert (len(result), result.to_dicts()) == (0, [])


@pytest.mark.parametrize(("kwargs", "error", "fragment"), [
    ({"device": "dev-09999"}, UnknownDeviceError, "unknown device 'dev-09999'"),
    ({"device": "dev-00002", "metrics": HUMIDITY}, UnknownMetricError,
     "unknown metric 'humidity_pct' for device dev-00002 (it reports temperature_c)"),
    ({"site": "plant-z", "resolution": "5m"}, UnknownSiteError, "unknown site 'plant-z'"),
    ({"fleet": True, "metrics": "pressure_hpa", "resolution": "1h"}, UnknownMetricError,
     "unknown metric 'pressure_hpa'"),
    ({"device": "dev-00001", "since": "1h", "until": "2h"}, EmptyRangeError,
     "empty time range"),
    ({"device": "dev-00001", "since": "2026-01-01T00:05Z", "until": "2026-01-01T00:05Z"},
     EmptyRangeError, "is not after since"),
    ({"site": "plant-a"}, QueryError, "a site has no per-minute data"),
    ({"device": "dev-00001", "resolution": "10m"}, QueryError, "invalid resolution '10m'"),
    ({"device": "dev-00001", "fleet": True}, QueryError, "(got device and fleet)"),
    ({}, QueryError, "select exactly one of a device, a site or the fleet"),
    ({"device": "dev-00001", "metrics": []}, QueryError, "name at least one metric"),
    ({"device": "dev-00001", "metrics": "Temp C"}, QueryError, "invalid metric name"),
    ({"device": "dev 1"}, QueryError, "invalid device id 'dev 1'"),
    ({"device": "dev-00001", "since": "yesterday"}, QueryError, "invalid since 'yesterday'"),
    ({"device": "dev-00001", "interval": "2026-01-01T00:00Z"}, QueryError, "invalid range"),
    ({"device": "dev-00001", "interval": "1h/0s", "since": "1h"}, QueryError, "not both"),
    ({"device": "dev-00001", "since": "30d"}, QueryError, "use a coarser resolution"),
])
def test_each_wrong_query_raises_its_error(query_table, kwargs, error, fragment):
    # GIVEN the table; WHEN a query names something wrong
    kwargs = {"metrics": TEMPERATURE, **kwargs}
    with pytest.raises(error) as raised:
        ask(query_table, **kwargs)
    # THEN its error says what, in one line
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_rows_render_as_csv_json_and_pandas(query_table):
    # GIVEN a two-metric result
    result = ask(query_table, device="dev-00001", metrics=[TEMPERATURE, HUMIDITY],
                 interval="2026-01-01T00:00Z/2026-01-01T00:02Z")
    # WHEN it is rendered three ways
    rows_csv = list(csv.DictReader(io.StringIO(result.to_csv())))
    rows_json = json.loads(result.to_json())
    frame = result.to_pandas()
    # THEN all three hold the same rows, the exact sum as a decimal string
    assert rows_json == result.to_dicts()
    assert [row["time"] for row in rows_json] == ["2026-01-01T00:00:00Z",
                                                  "2026-01-01T00:01:00Z"] * 2
    assert [row["sum"] for row in rows_csv] == [str(row.sum) for row in result]
    assert [float(row["mean"]) for row in rows_csv] == [row.mean for row in result]
    assert list(frame.columns) == list(COLUMNS)
    assert frame["mean"].tolist() == [row.mean for row in result]
    assert frame["time"].tolist() == [row.time for row in result]


def test_to_pandas_without_pandas_says_which_extra_to_install(query_table, monkeypatch):
    # GIVEN pandas cannot be imported
    monkeypatch.setitem(sys.modules, "pandas", None)
    result = ask(query_table, device="dev-00001", metrics=TEMPERATURE, since="2m")
    # WHEN a DataFrame is asked for THEN the error names the extra
    with pytest.raises(MissingExtraError, match=r"pip install 'shardline\[pandas\]'"):
        result.to_pandas()


def test_the_table_name_comes_from_the_stack_outputs(query_table, tmp_path, monkeypatch):
    # GIVEN a state folder whose outputs name the table, and no table= argument
    client, name = query_table
    state = tmp_path / "state"
    state.mkdir()
    (state / "outputs.json").write_text(json.dumps({"aggregates_table_name": name}))
    monkeypatch.setenv("SHARDLINE_STATE_DIR", str(state))
    # WHEN a query runs THEN it reads that table
    result = query(device="dev-00001", metrics=TEMPERATURE, since="1m", client=client,
                   now=NOW)
    assert len(result) == 1
    # AND without outputs it asks for the name
    (state / "outputs.json").unlink()
    with pytest.raises(ShardlineError, match="pass table="):
        query(device="dev-00001", metrics=TEMPERATURE, client=client, now=NOW)
