"""``shardline streams shards``: the telemetry stream's shards, their state and lineage
(before, during and after a reshard; docs/runbooks/resharding.md)."""

from __future__ import annotations

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows


@main.group()
def streams() -> None:
    """The telemetry Kinesis stream: shards and their lineage."""


@streams.command("shards")
@click.option("--stream", "stream_name", default=None, metavar="NAME",
              help="Stream name (default: the local stack's stream_name output, "
                   "else shardline-telemetry).")
@click.option("--open", "open_only", is_flag=True, help="Only the open shards.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@endpoint_option
def streams_shards(stream_name: str | None, open_only: bool, fmt: str,
                   endpoint: str | None) -> None:
    """Every shard ListShards lists: OPEN or CLOSED (a reshard's parent, kept until its
    records expire), its parents, its share of the hash key space and its sequence
    range. The summary line (stderr) gives the targets UpdateShardCount accepts."""
    from shardline.stack_outputs import resolve
    from shardline.stream_shards import describe

    name = resolve(stream_name, "stream_name", flag="--stream",
                   fallback="shardline-telemetry")
    found = describe(aws_client("kinesis", endpoint), name)
    rows = [row.as_row() for row in found.rows if row.state == "OPEN" or not open_only]
    if fmt == "table":
        err_console.print(found.summary(), highlight=False)
    click.echo(render_rows(rows, fmt, title=f"shards of {name} ({len(rows)})"), nl=False)
