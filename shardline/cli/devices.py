"""``shardline devices``: every device's state, online or offline."""

from __future__ import annotations

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows
from shardline.stack_outputs import StackOutputs


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--table", "table_name", default=None,
              help="Device-state table (default: the local stack's device_state_table_name "
                   "output, else shardline-device-state).")
@click.option("--offline-after", type=click.IntRange(1, 604_800), default=None,
              help="Seconds of silence after which a device is offline (default: the stack's "
                   "device_offline_after_seconds, else 300).")
@endpoint_option
def devices(fmt: str, table_name: str | None, offline_after: int | None,
            endpoint: str | None) -> None:
    """Every device: online or offline, last seen, latest value of each metric."""
    from shardline import devices as device_state

    default_table, default_offline = device_state.stack_settings(StackOutputs.load())
    reader = device_state.DeviceStateReader(table_name or default_table,
                                            aws_client("dynamodb", endpoint))
    rows = device_state.rows(reader.states(), offline_after_s=offline_after or default_offline)
    if not rows and fmt == "table":
        err_console.print("no device has reported yet", highlight=False)
        return
    click.echo(render_rows(rows, fmt, title=f"devices ({len(rows)})"), nl=False)
