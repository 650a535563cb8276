"""``shardline query``: statistics of a device, a site or the fleet over time, as a table,
CSV, JSON or a plot; a thin layer over ``shardline.query.query``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows
from shardline.errors import ShardlineError
from shardline.stack_outputs import resolve

if TYPE_CHECKING:
    from shardline.query import QueryResult

FORMATS = ("table", "csv", "json")


@main.command()
@click.option("--device", default=None, help="One device, e.g. dev-00001.")
@click.option("--site", default=None, help="One site, e.g. plant-a (resolution 5m or 1h).")
@click.option("--fleet", is_flag=True, help="The whole fleet (resolution 5m or 1h).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="A metric, e.g. temperature_c; repeat for several.")
@click.option("--since", default=None,
              help="Start: a duration ago (90s, 15m, 2h, 1d) or ISO 8601 "
                   "(2026-01-01T10:00Z). Default 15m.")
@click.option("--until", default=None, help="End, same forms as --since. Default: now.")
@click.option("--range", "interval", default=None, metavar="SINCE/UNTIL",
              help="Start and end as one ISO 8601 interval, e.g. "
                   "2026-01-01T10:00Z/2026-01-01T11:00Z.")
@click.option("--resolution", default="1m", show_default=True, metavar="1m|5m|1h",
              help="Period of each row: 1m (devices only), 5m or 1h.")
@click.option("--format", "fmt", default=None, metavar="table|csv|json",
              help="Output format (default table; with --plot, only when given).")
@click.option("--plot", "plot_path", default=None, metavar="FILE.png",
              help="Draw the mean and the min-max band, one panel per metric, to this file.")
@click.option("--table", "table_name", default=None,
              help="Aggregates table (default: the stack's aggregates_table_name output).")
@endpoint_option
def query(device: str | None, site: str | None, fleet: bool, metrics: tuple[str, ...],
          since: str | None, until: str | None, interval: str | None, resolution: str,
          fmt: str | None, plot_path: str | None, table_name: str | None,
          endpoint: str | None) -> None:
    """count, mean, min, max and stddev of metrics per minute, 5 minutes or hour.

    \b
    shardline query --site plant-a --metric temperature_c --since 1h --resolution 5m
    shardline query --device dev-00001 --metric temperature_c --metric humidity_pct
    shardline query --fleet --metric battery_v --range 2026-01-01T00:00Z/2026-01-02T00:00Z \\
        --resolution 1h --plot battery.png
    """
    from shardline.query import AggregateReader, QuerySpec

    if fmt is not None and fmt not in FORMATS:
        raise ShardlineError(f"invalid --format {fmt!r}: use {', '.join(FORMATS)}")
    if not metrics:
        raise ShardlineError("name at least one --metric, e.g. --metric temperature_c")
    spec = QuerySpec.parse(device=device, site=site, fleet=fleet, metrics=metrics,
                           since=since, until=until, interval=interval, resolution=resolution)
    table_name = resolve(table_name, "aggregates_table_name", flag="--table")
    result = spec.run(AggregateReader(table_name, aws_client("dynamodb", endpoint)))
    if plot_path is not None:
        click.echo(result.plot(plot_path))
        if fmt is None:
            return
    _print(result, fmt or "table")


def _print(result: QueryResult, fmt: str) -> None:
    if fmt == "json":
        click.echo(result.to_json(), nl=False)
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    elif not result.rows:
        err_console.print(f"no {', '.join(result.metrics)} data for {result.selection} "
                          f"from {result.since:%Y-%m-%d %H:%M:%S} to "
                          f"{result.until:%Y-%m-%d %H:%M:%S} UTC", highlight=False)
    else:
        title = (f"{result.selection} · {', '.join(result.metrics)} · {result.resolution} · "
                 f"{result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} UTC")
        click.echo(render_rows(result.to_dicts(), "table", title=title), nl=False)
