"""``shardline rollup run``: the scheduled rollup, invoked now."""

from __future__ import annotations

import json
from typing import Any

import click

from shardline.cli.app import aws_client, endpoint_option, invoke_json, main
from shardline.errors import ShardlineError
from shardline.stack_outputs import resolve

DEFAULT_SCHEDULED_ROLLUP = "shardline-scheduled-rollup"


@main.group()
def rollup() -> None:
    """The scheduled rollup (5-minute and hourly roll-ups per device, site and fleet)."""


@rollup.command("run")
@click.option("--hour", "hours", multiple=True, metavar="YYYY-MM-DDTHH",
              help="Recompute this hour (UTC; repeatable) instead of the pending ones.")
@click.option("--function", "function", default=None,
              help="Function to invoke (default: the local stack's "
                   "scheduled_rollup_function_name output, else "
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
    name = resolve(function, "scheduled_rollup_function_name", flag="--function",
                   fallback=DEFAULT_SCHEDULED_ROLLUP)
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
