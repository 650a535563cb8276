"""``shardline demo``: local stack up, a simulated fleet, the aggregates, tear down."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from shardline.cli.app import console, err_console, invoke_json, main
from shardline.cli.render import render_rows
from shardline.local.embedded import DEFAULT_PORT


@main.command()
@click.option("--devices", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--rate", type=click.FloatRange(0.01, 100), default=2.0, show_default=True)
@click.option("--duration", type=click.FloatRange(1, 600), default=30.0, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
def demo(devices: int, rate: float, duration: float, port: int) -> None:
    """Bring the local stack up, simulate a fleet, show the aggregates, tear down."""
    from producers.aggregation import AggregatingPublisher
    from producers.fleet import FleetConfig
    from producers.publisher import KinesisPublisher
    from producers.simulate import run_simulation
    from shardline.local.stack import LocalStack
    from shardline.query import AggregateReader, fleet_summary

    stack = LocalStack(port=port)
    _step("starting the embedded AWS and applying terraform", stack.up)
    try:
        stream, table = stack.outputs["stream_name"], stack.outputs["aggregates_table_name"]
        config = FleetConfig(devices=devices, rate_hz=rate, duration_s=duration, seed=7)
        # Devices push KPL-aggregated records, one aggregate per shard (DESIGN.md).
        publisher = AggregatingPublisher(KinesisPublisher(str(stream), stack.client("kinesis")))
        result = _step(f"simulating {devices} devices at {rate:g} Hz for {duration:g} s "
                       "(KPL-aggregated)",
                       lambda: run_simulation(config, publisher, paced=True))
        manifest_path = stack.dir / "demo-manifest.json"
        result.manifest.write(manifest_path)
        _step("waiting for the tumbling windows to close",
              lambda: stack.wait_until_idle(timeout_s=180))
        reader = AggregateReader(str(table), stack.client("dynamodb"))
        rows = reader.all_minutes()
        summary = [{"metric": s.metric, "devices": s.devices, "minutes": s.minutes,
                    "readings": s.stats.count, "mean": float(s.stats.mean),
                    "min": float(s.stats.minimum), "max": float(s.stats.maximum)}
                   for s in fleet_summary(rows)]
        click.echo(render_rows(summary, "table", title="fleet summary"), nl=False)
        device = "dev-00001"
        series = [r.as_dict() for r in rows if r.device_id == device
                  and r.metric == "temperature_c"]
        click.echo(render_rows(series, "table", title=f"{device} temperature_c"), nl=False)
        _step("running the scheduled rollup once",
              lambda: invoke_json(stack.client("lambda"),
                                   str(stack.outputs["scheduled_rollup_function_name"]), {}))
        first = (result.manifest.first_ts_ms or 0) // 1000
        site = sorted(result.manifest.sites.values())[0]
        for scope, name in (("fleet", None), ("site", site)):
            periods = [r.as_dict() for r in reader.rollups(
                scope, "temperature_c", resolution_s=300, since_s=first, site=name)]
            click.echo(render_rows(periods, "table", title=f"{name or 'fleet'} temperature_c, "
                                   "5-minute roll-ups"), nl=False)
        aggregated = sum(s["readings"] for s in summary)
        expected = sum(cell.count for cell in result.manifest.cells.values())
        verdict = "[green]exact[/]" if aggregated == expected else "[red]MISMATCH[/]"
        console.print(f"readings sent {expected:,}, aggregated {aggregated:,}: {verdict}")
    finally:
        _step("tearing down", stack.down)




def _step(label: str, action: Callable[[], Any]) -> Any:
    started = time.monotonic()
    err_console.print(f"… {label}", highlight=False)
    value = action()
    err_console.print(f"  done in {time.monotonic() - started:.1f} s", highlight=False)
    return value
