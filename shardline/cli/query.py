"""``shardline query``: aggregates of one device, site or the fleet over time."""

from __future__ import annotations

import time

import click

from shardline.cli.app import aws_client, endpoint_option, main
from shardline.cli.render import render_rows
from shardline.errors import ShardlineError
from shardline.stack_outputs import resolve

DEFAULT_TABLE = "shardline-aggregates"

@main.command()
@click.option("--device", default=None, help="Device id, e.g. dev-00001.")
@click.option("--site", default=None, help="A site's roll-ups (with --resolution 5m or 1h).")
@click.option("--fleet", is_flag=True, help="The fleet's roll-ups (with --resolution 5m or 1h).")
@click.option("--metric", required=True, help="Metric name, e.g. temperature_c.")
@click.option("--resolution", type=click.Choice(["1m", "5m", "1h"]), default="1m",
              show_default=True,
              help="1m: minute totals (per device); 5m, 1h: the scheduled rollup's roll-ups.")
@click.option("--since", default="15m", show_default=True, help="How far back (90s, 15m, 2h, 7d).")
@click.option("--until", "until", default=None, help="Up to how long ago (default: now).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--table", "table_name", default=None,
              help="Aggregates table (default: the local stack's aggregates_table_name "
                   f"output, else {DEFAULT_TABLE}).")
@endpoint_option
def query(device: str | None, site: str | None, fleet: bool, metric: str, resolution: str,
          since: str, until: str | None, fmt: str, table_name: str | None,
          endpoint: str | None) -> None:
    """count/mean/min/max of a metric per minute (one device), or per 5 minutes or hour
    (one device, one site or the fleet)."""
    from shardline.query import RESOLUTIONS, AggregateReader, parse_duration

    scopes = [name for name, given in (("--device", device), ("--site", site),
                                       ("--fleet", fleet)) if given]
    if len(scopes) != 1:
        raise ShardlineError("give exactly one of --device, --site or --fleet"
                             + (f" (got {', '.join(scopes)})" if scopes else ""))
    if resolution == "1m" and not device:
        raise ShardlineError(f"{scopes[0]} has no per-minute data (minute totals are per "
                             "device): use --resolution 5m or 1h")
    now = time.time()
    since_s = now - parse_duration(since)
    until_s = now - parse_duration(until) if until else now
    if until_s < since_s:
        raise ShardlineError("--until must be more recent than --since")
    table_name = resolve(table_name, "aggregates_table_name", flag="--table",
                         fallback=DEFAULT_TABLE)
    reader = AggregateReader(table_name, aws_client("dynamodb", endpoint))
    if resolution == "1m":
        assert device is not None
        rows = [r.as_dict() for r in reader.series(device, metric, since_s=since_s,
                                                   until_s=until_s)]
        title = f"{device} {metric}"
    else:
        scope = "device" if device else "site" if site else "fleet"
        rows = [r.as_dict() for r in reader.rollups(
            scope, metric, resolution_s=RESOLUTIONS[resolution], since_s=since_s,
            until_s=until_s, device=device, site=site)]
        title = f"{device or site or 'fleet'} {metric} ({resolution} roll-ups)"
    click.echo(render_rows(rows, fmt, title=title), nl=False)
