"""``shardline mappings``: each event source mapping's state, last processing result and
its function's iterator age, on AWS or on the local stack."""

from __future__ import annotations

import json
import time

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows
from shardline.errors import ShardlineError

DEFAULT_PREFIX = "shardline-"


@main.command()
@click.option("--since", default="15m", show_default=True,
              help="How far back to read IteratorAge (90s, 15m, 2h).")
@click.option("--prefix", default=DEFAULT_PREFIX, show_default=True,
              help="Only mappings of functions whose name starts with this ('' for all).")
@click.option("--behind-ms", type=click.IntRange(1, None), default=None,
              help="Iterator age (ms) from which a mapping is reported behind "
                   "(default: 60000, the iterator-age alarm's default threshold).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="json adds each mapping's UUID, state reason and "
                                      "every datapoint.")
@endpoint_option
def mappings(since: str, prefix: str, behind_ms: int | None, fmt: str,
             endpoint: str | None) -> None:
    """Each event source mapping: state, last processing result, iterator age, and what
    needs attention (disabled, PROBLEM, behind, age rising)."""
    from shardline.mappings import DEFAULT_BEHIND_MS, MAX_WINDOW_S, PERIOD_S, mapping_health
    from shardline.query import parse_duration

    window_s = parse_duration(since)
    if not PERIOD_S <= window_s <= MAX_WINDOW_S:
        raise ShardlineError(f"--since {since}: give 1m to 24h (GetMetricStatistics returns "
                             "at most 1,440 one-minute datapoints)")
    now = time.time()
    found = mapping_health(aws_client("lambda", endpoint), aws_client("cloudwatch", endpoint),
                           prefix=prefix, since_s=now - window_s, now_s=now)
    if not found:
        err_console.print(f"no event source mapping of a function named {prefix}*",
                          highlight=False)
        return
    threshold = behind_ms or DEFAULT_BEHIND_MS
    if fmt == "json":
        click.echo(json.dumps([{
            **m.as_row(threshold), "uuid": m.uuid, "state_reason": m.state_reason,
            "iterator_age": [{"minute": at, "max_ms": age} for at, age in m.ages],
        } for m in found], indent=2))
        return
    rows = [m.as_row(threshold) for m in found]
    click.echo(render_rows(rows, fmt, title=f"event source mappings ({len(rows)})"), nl=False)
