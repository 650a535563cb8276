"""``shardline devices``: every device's state, online or offline; ``shardline
hot-devices``: the devices that sent the most readings lately (a flooding device)."""

from __future__ import annotations

import time

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows
from shardline.errors import ShardlineError
from shardline.stack_outputs import StackOutputs, resolve


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


@main.command("hot-devices")
@click.option("--since", default="15m", show_default=True,
              help="How far back, in event time (90s, 15m, 2h, 7d).")
@click.option("--top", type=click.IntRange(1, 10_000), default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--table", "table_name", default=None,
              help="Aggregates table (default: the local stack's aggregates_table_name "
                   "output, else shardline-aggregates).")
@click.option("--stream", default=None,
              help="Kinesis stream, for each device's shard (default: the local stack's "
                   "stream_name output, else shardline-telemetry).")
@endpoint_option
def hot_devices(since: str, top: int, fmt: str, table_name: str | None, stream: str | None,
                endpoint: str | None) -> None:
    """The devices that sent the most readings lately, their shard and share of it."""
    from producers.aggregation import ShardMapError, read_shard_map
    from shardline import device_load
    from shardline.query import parse_duration

    window_s = parse_duration(since)
    if window_s < 60:
        raise ShardlineError("--since must be at least 1m: minute totals are the unit")
    table_name = resolve(table_name, "aggregates_table_name", flag="--table",
                         fallback="shardline-aggregates")
    stream = resolve(stream, "stream_name", flag="--stream", fallback="shardline-telemetry")
    try:
        shard_map = read_shard_map(aws_client("kinesis", endpoint), stream)
    except ShardMapError as exc:
        raise ShardlineError(f"cannot map devices to shards of {stream}: {exc}") from None
    now = time.time()
    totals = device_load.read_totals(aws_client("dynamodb", endpoint), table_name,
                                     now - window_s, now)
    loads = device_load.device_loads(totals, lambda device: shard_map.shard_for(device).shard_id)
    if not loads and fmt == "table":
        err_console.print(f"no readings in the last {since}", highlight=False)
        return
    click.echo(render_rows(device_load.rows(loads, window_s=window_s, top=top), fmt,
                           title=f"busiest devices, last {since}"), nl=False)
