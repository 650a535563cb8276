"""``shardline quarantine list``: records the aggregator rejected."""

from __future__ import annotations

import time

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows
from shardline.stack_outputs import resolve

DEFAULT_QUARANTINE_TABLE = "shardline-quarantine"


@main.group()
def quarantine() -> None:
    """Records the aggregator rejected (undecodable or outside the telemetry contract)."""


@quarantine.command("list")
@click.option("--since", default="1h", show_default=True,
              help="How far back, by arrival time (90s, 15m, 2h, 7d).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="json and csv include the raw bytes (base64).")
@click.option("--table", "table_name", default=None,
              help="Quarantine table (default: the local stack's quarantine_table_name "
                   f"output, else {DEFAULT_QUARANTINE_TABLE}).")
@endpoint_option
def quarantine_list(since: str, fmt: str, table_name: str | None,
                    endpoint: str | None) -> None:
    """Quarantined records: arrival, shard, sequence numbers, partition key, reason."""
    from shardline.quarantine import QuarantineReader
    from shardline.query import parse_duration

    since_s = time.time() - parse_duration(since)
    table_name = resolve(table_name, "quarantine_table_name", flag="--table",
                         fallback=DEFAULT_QUARANTINE_TABLE)
    records = QuarantineReader(table_name, aws_client("dynamodb", endpoint)).records(
        since_s=since_s)
    rows = [record.as_row(with_data=fmt != "table") for record in records]
    if not rows and fmt == "table":
        err_console.print(f"no records quarantined in the last {since}", highlight=False)
        return
    click.echo(render_rows(rows, fmt, title=f"quarantined records ({len(rows)})"), nl=False)
