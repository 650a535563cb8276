"""``shardline demo``: local stack up, a simulated fleet, the aggregates, tear down."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from shardline.cli.app import console, err_console, invoke_json, main
from shardline.cli.render import render_rows
from shardline.cli.simulate import anomaly_option, fleet_config
from shardline.local.embedded import DEFAULT_PORT


@main.command()
@click.option("--devices", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--rate", type=click.FloatRange(0.01, 100), default=2.0, show_default=True)
@click.option("--duration", type=click.FloatRange(1, 600), default=30.0, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@anomaly_option
def demo(devices: int, rate: float, duration: float, port: int,
         anomalies: tuple[str, ...]) -> None:
    """Bring the local stack up, simulate a fleet (one device overheating for a while),
    show the aggregates, the devices and the alerts, tear down."""
    from producers.aggregation import AggregatingPublisher
    from producers.publisher import KinesisPublisher
    from producers.simulate import run_simulation
    from shardline.local.stack import LocalStack

    config = fleet_config(devices=devices, rate_hz=rate, duration_s=duration, seed=7,
                          anomalies=anomalies or (default_anomaly(devices, rate, duration),))
    stack = LocalStack(port=port)
    _step("starting the embedded AWS and applying terraform", stack.up)
    try:
        # Devices push KPL-aggregated records, one aggregate per shard (DESIGN.md).
        publisher = AggregatingPublisher(KinesisPublisher(str(stack.outputs["stream_name"]),
                                                          stack.client("kinesis")))
        spikes = ", ".join(f"{a.device} {a.metric}={a.value:g}" for a in config.anomalies)
        result = _step(f"simulating {devices} devices at {rate:g} Hz for {duration:g} s "
                       f"(KPL-aggregated; injected: {spikes})",
                       lambda: run_simulation(config, publisher, paced=True))
        result.manifest.write(stack.dir / "demo-manifest.json")
        _step("waiting for the tumbling windows to close and the workers to finish",
              lambda: stack.wait_until_idle(timeout_s=180))
        _show_aggregates(stack, result.manifest)
        _show_fanout(stack)
        _plot(stack, config.anomalies[0].device, result.manifest)
    finally:
        _step("tearing down", stack.down)


def default_anomaly(devices: int, rate: float, duration: float) -> str:
    """One device overheating through the middle third of the run, long enough for
    several readings (the default alert rule wants three in a row over 80 °C)."""
    device = "dev-00002" if devices > 1 else "dev-00001"
    length = max(duration / 3, 4 / rate)
    return f"{device}:temperature_c=95@{duration / 3:g}+{length:g}"


def _show_aggregates(stack: Any, manifest: Any) -> None:
    """The fleet summary, one device's minutes, the roll-ups, and the exactness check."""
    from shardline.query import AggregateReader, fleet_summary

    reader = AggregateReader(str(stack.outputs["aggregates_table_name"]),
                             stack.client("dynamodb"))
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
    first = (manifest.first_ts_ms or 0) // 1000
    site = sorted(manifest.sites.values())[0]
    for scope, name in (("fleet", None), ("site", site)):
        periods = [r.as_dict() for r in reader.rollups(
            scope, "temperature_c", resolution_s=300, since_s=first, site=name)]
        click.echo(render_rows(periods, "table", title=f"{name or 'fleet'} temperature_c, "
                               "5-minute roll-ups"), nl=False)
    aggregated = sum(s["readings"] for s in summary)
    expected = sum(cell.count for cell in manifest.cells.values())
    verdict = "[green]exact[/]" if aggregated == expected else "[red]MISMATCH[/]"
    console.print(f"readings sent {expected:,}, aggregated {aggregated:,}: {verdict}")


def _show_fanout(stack: Any) -> None:
    """What the fanout workers made of the run: each device's state, and the alerts."""
    from shardline import devices as device_state
    from shardline.alerts_feed import Alert, AlertsQueue, distinct, parse_alert_message

    if not stack.outputs.get("device_state_table_name"):
        return  # the fanout is not deployed
    states = device_state.DeviceStateReader(str(stack.outputs["device_state_table_name"]),
                                            stack.client("dynamodb")).states()
    offline_after = int(stack.outputs.get("device_offline_after_seconds") or 300)
    click.echo(render_rows(device_state.rows(states, offline_after_s=offline_after), "table",
                           title=f"devices ({len(states)})"), nl=False)
    queue = AlertsQueue(stack.client("sqs"), str(stack.outputs["alerts_queue_url"]))
    messages = queue.receive(limit=100, wait_s=2)
    alerts = distinct(a for a in map(parse_alert_message, messages) if isinstance(a, Alert))
    click.echo(render_rows([a.as_row() for a in alerts], "table",
                           title=f"alerts ({len(alerts)})"), nl=False)
    queue.delete(m["ReceiptHandle"] for m in messages)


def _plot(stack: Any, device: str, manifest: Any) -> None:
    """The overheating device's metrics per minute as a PNG beside the manifest."""
    from producers.fleet import METRICS
    from shardline.query import query

    since = datetime.fromtimestamp((manifest.first_ts_ms or 0) // 1000, UTC)
    result = query(device=device, metrics=list(METRICS), since=since,
                   table=str(stack.outputs["aggregates_table_name"]),
                   client=stack.client("dynamodb"))
    console.print(f"plot of {device}: {result.plot(stack.dir / 'demo-plot.png')}",
                  highlight=False)


def _step(label: str, action: Callable[[], Any]) -> Any:
    started = time.monotonic()
    err_console.print(f"… {label}", highlight=False)
    value = action()
    err_console.print(f"  done in {time.monotonic() - started:.1f} s", highlight=False)
    return value
