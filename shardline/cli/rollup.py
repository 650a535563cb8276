"""``shardline rollup run``: the scheduled rollup, invoked now."""

from __future__ import annotations

import json
from typing import Any

import click

from shardline.cli.app import aws_client, endpoint_option, invoke_json, main
from shardline.errors import ShardlineError

DEFAULT_SCHEDULED_ROLLUP = "shardline-scheduled-rollup"


@main.group()
def rollup() -> None:
    """The scheduled rollup (5-minute and hourly roll-ups per device, site and fleet)."""


def _scheduled_rollup_function() -> str:
    """The local stack's scheduled-rollup function when a stack has run here, else the
    default name (what Terraform names it with the default prefix)."""
    from shardline.local.stack import project_root, state_dir

    try:
        outputs = json.loads((state_dir(project_root()) / "outputs.json").read_text())
    except (ShardlineError, OSError, ValueError):
        return DEFAULT_SCHEDULED_ROLLUP
    return str(outputs.get("scheduled_rollup_function_name") or DEFAULT_SCHEDULED_ROLLUP)


@rollup.command("run")
@click.option("--hour", "hours", multiple=True, metavar="YYYY-MM-DDTHH",
              help="Recompute this hour (UTC; repeatable) instead of the pending ones.")
@click.option("--function", "function", default=None,
              help="Function to invoke (default: the local stack's scheduled rollup, else "
                   f"{DEFAULT_SCHEDULED_ROLLUP}).")
@endpoint_option
def rollup_run(hours: tuple[str, ...], function: str | None, endpoint: str | None) -> None:
    """Run the scheduled rollup now (Lambda Invoke) and print its summary."""
    from lambdas.shared.aggregates import hour_label, parse_hour_label

    try:
        labels = sorted({hour_label(parse_hour_label(hour)) for hour in hours})
    except ValueError:
        bad = next(h for h in hours if not _is_hour(h))
        raise ShardlineError(f"invalid --hour {bad!r}: use YYYY-MM-DDTHH (UTC), e.g. "
                             "2026-11-23T10") from None
    payload: dict[str, Any] = ({"hours": labels} if labels else
                               {"source": "shardline.cli", "detail-type": "Scheduled Event",
                                "detail": {}})
    name = function or _scheduled_rollup_function()
    # A run lasts up to the function's timeout (at most 900 s).
    client = aws_client("lambda", endpoint, read_timeout_s=910)
    click.echo(json.dumps(invoke_json(client, name, payload), indent=2))


def _is_hour(text: str) -> bool:
    from lambdas.shared.aggregates import parse_hour_label

    try:
        parse_hour_label(text)
    except ValueError:
        return False
    return True
