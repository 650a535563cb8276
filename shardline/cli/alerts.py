"""``shardline alerts``: recent alerts from the queue subscribed to the alerts topic."""

from __future__ import annotations

import json

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True,
              help="Receive at most this many messages.")
@click.option("--wait", "wait_s", type=click.IntRange(0, 300), default=2, show_default=True,
              help="Seconds to long-poll for the first messages.")
@click.option("--ack", is_flag=True,
              help="Delete the alerts shown from the queue (default: leave them there).")
@click.option("--queue-url", default=None, metavar="URL",
              help="Queue subscribed to the alerts topic (default: the local stack's "
                   "alerts_queue_url output; there is no fallback name).")
@endpoint_option
def alerts(fmt: str, limit: int, wait_s: int, ack: bool, queue_url: str | None,
           endpoint: str | None) -> None:
    """Recent alerts (raised and resolved), by event time; left in the queue unless --ack."""
    from shardline.alerts_feed import Alert, AlertsQueue, Unreadable, distinct
    from shardline.alerts_feed import parse_alert_message as parse
    from shardline.stack_outputs import resolve

    url = resolve(queue_url, "alerts_queue_url", flag="--queue-url")
    queue = AlertsQueue(aws_client("sqs", endpoint), url)
    messages = queue.receive(limit, wait_s)
    parsed = [parse(message) for message in messages]
    handles = [item.receipt_handle for item in parsed]
    try:
        for bad in (item for item in parsed if isinstance(item, Unreadable)):
            err_console.print(f"skipped message {bad.message_id}: {bad.reason}",
                              highlight=False)
        shown = distinct(item for item in parsed if isinstance(item, Alert))
        if fmt == "json":
            click.echo(json.dumps([a.as_row() for a in shown], indent=2))
        elif shown:
            click.echo(render_rows([a.as_row() for a in shown], "table",
                                   title=f"alerts ({len(shown)})"), nl=False)
        else:
            err_console.print(f"no alerts in the queue (waited {wait_s} s)", highlight=False)
    except BaseException:
        queue.release(handles)
        raise
    # --ack deletes what was received and shown, unreadable ones stay for inspection.
    acked = {a.receipt_handle for a in parsed if isinstance(a, Alert)} if ack else set()
    queue.delete(sorted(acked))
    queue.release(h for h in handles if h not in acked)
