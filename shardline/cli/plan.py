"""``shardline plan``: shards, invocations, DynamoDB, archive and monthly cost of a fleet."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from shardline.cli.app import console, main
from shardline.errors import ShardlineError


def _number(text: str | None, option: str, *, integer: bool = False,
            minimum: float = 0.0, strict: bool = True) -> Any:
    if text is None:
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ShardlineError(f"invalid {option} {text!r}: expected {kind}") from None
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ShardlineError(f"invalid {option} {text!r}: must be {bound}")
    return value


@main.command("plan")
@click.option("--devices", required=True, metavar="N", help="Devices in the fleet.")
@click.option("--hz", required=True, metavar="F", help="Readings per device per second.")
@click.option("--bytes", "record_bytes", required=True, metavar="B",
              help="Bytes of one user record (its JSON).")
@click.option("--metrics", default="3", show_default=True, metavar="M",
              help="Metrics per reading.")
@click.option("--sites", default="5", show_default=True, help="Sites the devices are in.")
@click.option("--aggregate/--no-aggregate", default=True, show_default=True,
              help="Producers use KPL aggregation.")
@click.option("--fanout/--no-fanout", default=None,
              help="Include the fanout path (default: as the settings deploy it).")
@click.option("--shards", default=None, metavar="N",
              help="Plan for this many shards (default: the fewest that carry the load).")
@click.option("--speed", default="1", show_default=True, metavar="X",
              help="Event time per arrival time: 1 for live devices, more for a backlog "
                   "replayed at X times real time.")
@click.option("--var-file", type=click.Path(path_type=Path), default=None,
              help="tfvars file of the deployment (e.g. terraform/envs/prod.tfvars); "
                   "default: the variables' defaults.")
@click.option("--prices", "prices_file", type=click.Path(path_type=Path), default=None,
              help="Price file (TOML; default: the bundled one for the deployment's region, "
                   "else us-east-1).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]),
              default="table", show_default=True)
def plan_command(devices: str, hz: str, record_bytes: str, metrics: str, sites: str,
                 aggregate: bool, fanout: bool | None, shards: str | None, speed: str,
                 var_file: Path | None, prices_file: Path | None, output_format: str) -> None:
    """Size and price the platform for a fleet: shards, Lambda, DynamoDB, S3, logs."""
    from shardline.local.stack import project_root
    from shardline.planner.costs import bundled_prices, load_prices
    from shardline.planner.model import Workload
    from shardline.planner.report import build_report
    from shardline.planner.settings import load_deployment

    if var_file is not None and not var_file.is_file():
        raise ShardlineError(f"invalid --var-file {str(var_file)!r}: no such file")
    if prices_file is not None and not prices_file.is_file():
        raise ShardlineError(f"invalid --prices {str(prices_file)!r}: no such file")
    deployment = load_deployment(project_root() / "terraform", var_file)
    try:
        workload = Workload(
            devices=_number(devices, "--devices", integer=True),
            hz=_number(hz, "--hz"),
            record_bytes=_number(record_bytes, "--bytes", integer=True),
            metrics=_number(metrics, "--metrics", integer=True),
            sites=_number(sites, "--sites", integer=True),
            aggregate=aggregate,
            fanout=deployment.fanout_enabled if fanout is None else fanout,
            speed=_number(speed, "--speed", minimum=1.0, strict=False),
            shards=_number(shards, "--shards", integer=True),
        )
        path = prices_file or bundled_prices(deployment.region) or bundled_prices("us-east-1")
        if path is None:
            raise ShardlineError("no price file found: pass --prices FILE")
        report = build_report(workload, deployment, load_prices(path),
                              str(var_file) if var_file else "variable defaults")
    except ValueError as exc:
        raise ShardlineError(str(exc)) from None
    if output_format == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        from shardline.planner.tables import render

        render(report, console)
