"""``shardline simulate``: a fleet of simulated devices pushing telemetry into Kinesis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.errors import ShardlineError
from shardline.stack_outputs import resolve

DEFAULT_STREAM = "shardline-telemetry"

anomaly_option = click.option(
    "--anomaly", "anomalies", multiple=True, metavar="DEVICE:METRIC=VALUE@START+DURATION",
    help="Make a device report a value for a while, seconds from the run's start (e.g. "
         "dev-00003:temperature_c=95@10+6); repeatable.")


flood_option = click.option(
    "--flood", "floods", multiple=True, metavar="DEVICE=RATE",
    help="Make a device send RATE readings per second instead of --rate (a flooding "
         "device, e.g. dev-00007=10000); repeatable.")


def fleet_config(**settings: Any) -> Any:
    """The ``FleetConfig`` of the options, ``anomalies`` and ``floods`` given as text; a
    one-line ``ShardlineError`` for anything the fleet refuses."""
    from producers.anomalies import parse_anomaly
    from producers.fleet import FleetConfig
    from producers.floods import parse_flood

    try:
        anomalies = tuple(parse_anomaly(text) for text in settings.pop("anomalies", ()))
        floods = tuple(parse_flood(text) for text in settings.pop("floods", ()))
        return FleetConfig(**settings, anomalies=anomalies, floods=floods)
    except ValueError as exc:
        raise ShardlineError(str(exc)) from None


@main.command()
@click.option("--devices", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--rate", type=click.FloatRange(0.001, 1000, min_open=False), default=2.0,
              show_default=True, help="Records per second per device.")
@click.option("--duration", type=click.FloatRange(0.1, 86_400), default=30.0, show_default=True,
              help="Seconds of telemetry to produce.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--sites", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--stream", default=None,
              help="Kinesis stream (default: the local stack's stream_name output, else "
                   f"{DEFAULT_STREAM}).")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("manifest.json"), show_default=True,
              help="Where to write the ground truth of what Kinesis accepted.")
@click.option("--fast", is_flag=True,
              help="Send as fast as possible (same event times) instead of in real time.")
@click.option("--aggregate/--no-aggregate", default=True, show_default=True,
              help="KPL-aggregate user records per shard (many per Kinesis record), or put "
                   "one Kinesis record per user record.")
@anomaly_option
@flood_option
@endpoint_option
def simulate(devices: int, rate: float, duration: float, seed: int, sites: int,
             stream: str | None, manifest_path: Path, fast: bool, aggregate: bool,
             anomalies: tuple[str, ...], floods: tuple[str, ...],
             endpoint: str | None) -> None:
    """Simulate a fleet of devices pushing telemetry v1 into Kinesis."""
    from producers.aggregation import AggregatingPublisher
    from producers.publisher import KinesisPublisher
    from producers.simulate import Publisher, SimulationError, run_simulation

    config = fleet_config(devices=devices, rate_hz=rate, duration_s=duration, seed=seed,
                          sites=sites, anomalies=anomalies, floods=floods)
    stream = resolve(stream, "stream_name", flag="--stream", fallback=DEFAULT_STREAM)
    client = aws_client("kinesis", endpoint)
    client.describe_stream_summary(StreamName=stream)  # fail early, with a clear message
    plain = KinesisPublisher(stream, client)
    publisher: Publisher = AggregatingPublisher(plain) if aggregate else plain
    expected = config.total_records
    with Progress(TextColumn("[bold]simulate"), BarColumn(), TextColumn("{task.completed:,}/"
                  "{task.total:,} records"), TimeElapsedColumn(), console=err_console,
                  transient=False) as progress:
        task = progress.add_task("send", total=expected)

        def on_progress(sent: int, total: int, _report: Any) -> None:
            progress.update(task, completed=sent, total=total)

        try:
            result = run_simulation(config, publisher, paced=not fast,
                                    on_progress=on_progress)
        except SimulationError as exc:
            # Never lose the ground truth of what was accepted before giving up.
            exc.result.manifest.write(manifest_path)
            raise ShardlineError(f"{exc}; {len(exc.unaccepted):,} records not accepted; "
                                 f"manifest of the accepted ones: {manifest_path}") from None
    result.manifest.write(manifest_path)
    report = result.report
    err_console.print(
        f"accepted {report.accepted:,} records in {report.kinesis_records:,} Kinesis records "
        f"and {report.calls:,} PutRecords calls ({report.retried:,} retried); "
        f"manifest: {manifest_path}", highlight=False)
    if report.throttled_records or report.throttled_calls:
        err_console.print(
            f"throttled: {report.throttled_records:,} Kinesis records refused with "
            f"ProvisionedThroughputExceededException and {report.throttled_calls:,} whole "
            f"calls, all retried (backoff {report.backoff_s:.1f} s); a shard's writes "
            "exceeded 1,000 records/s or 1 MiB/s", highlight=False)
