"""``shardline dlq list|replay``: the stream consumers' failed batches."""

from __future__ import annotations

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows
from shardline.errors import ShardlineError


@main.group()
def dlq() -> None:
    """Failed batches of the stream consumers (on-failure destination): list, replay."""


queue_option = click.option("--queue", "queue_name", default="shardline-stream-failures",
                            show_default=True, help="Name of the failure queue.")


@dlq.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@queue_option
@endpoint_option
def dlq_list(fmt: str, queue_name: str, endpoint: str | None) -> None:
    """Failed batches queued for replay (left in the queue)."""
    from shardline.dlq import FailureQueue

    batches = FailureQueue(aws_client("sqs", endpoint), queue_name).peek()
    if not batches and fmt == "table":
        err_console.print(f"no failed batches are queued in {queue_name}", highlight=False)
        return
    click.echo(render_rows([b.as_row() for b in batches], fmt,
                           title=f"failed batches ({len(batches)})"), nl=False)


@dlq.command("replay")
@click.option("--function", "function", default=None,
              help="Function to re-drive through (default: the one each failure names).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@queue_option
@endpoint_option
def dlq_replay(function: str | None, yes: bool, queue_name: str, endpoint: str | None) -> None:
    """Re-read each failed batch from the stream, re-drive it, and dequeue it."""
    from shardline.dlq import FailureQueue, ReplayOutcome, replay

    queue = FailureQueue(aws_client("sqs", endpoint), queue_name)
    if not yes:
        pending = queue.peek()
        if not pending:
            raise ShardlineError(f"no failed batches are queued in {queue_name}: "
                                 "nothing to replay")
        click.confirm(f"replay {len(pending)} failed batches from {queue_name}?",
                      abort=True, err=True)

    def report(outcome: ReplayOutcome) -> None:
        batch = outcome.batch
        err_console.print(f"replayed {batch.shard_id} {batch.start_sequence_number}…"
                          f"{batch.end_sequence_number} ({outcome.records} records) as "
                          f"{batch.replay_segment}", highlight=False)

    # A synchronous invoke lasts up to the function's timeout (at most 900 s). A re-drive
    # retried by botocore is harmless: it rewrites the same replay items.
    invoker = aws_client("lambda", endpoint, read_timeout_s=910)
    outcomes = replay(queue, aws_client("kinesis", endpoint), invoker,
                      function=function, on_replayed=report)
    err_console.print(f"replayed {len(outcomes)} failed batches "
                      f"({sum(o.records for o in outcomes)} records)", highlight=False)
