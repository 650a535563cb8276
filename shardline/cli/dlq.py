"""``shardline dlq list|replay``: the failure queues of the stream consumers (failed
batches) and of the fanout workers (failed asynchronous events)."""

from __future__ import annotations

from typing import Any

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows
from shardline.errors import ShardlineError


@main.group()
def dlq() -> None:
    """Failed batches of the stream consumers (on-failure destination) and failed events
    of the fanout workers: list, replay."""


queue_option = click.option(
    "--queue", "queue_name", default=None,
    help="Name of the failure queue (default: the local stack's failure_queue_url output, "
         "else shardline-stream-failures).")
worker_option = click.option(
    "--worker", default=None, metavar="NAME",
    help="A fanout worker's failure queue instead (e.g. device_state; from the local "
         "stack's worker_failure_queues output, else shardline-<worker>-failures).")


def _target(queue_name: str | None, worker: str | None) -> tuple[str, str | None]:
    """(queue name, worker or None for the stream failure queue) of the options given."""
    from shardline import failure_queues
    from shardline.stack_outputs import StackOutputs

    if queue_name and worker:
        raise ShardlineError("give --queue or --worker, not both")
    outputs = StackOutputs.load()
    if worker:
        return failure_queues.worker_failure_queue(outputs, worker), worker
    if queue_name:
        by_queue = {q: w for w, q in failure_queues.worker_queue_names(outputs).items()}
        return queue_name, by_queue.get(queue_name)
    return failure_queues.stream_failure_queue(outputs), None


def _queue(sqs: Any, queue_name: str, worker: str | None) -> Any:
    from shardline.dlq import FailureQueue
    from shardline.worker_failures import WorkerFailureQueue

    return (WorkerFailureQueue if worker else FailureQueue)(sqs, queue_name)


@dlq.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--all", "every_queue", is_flag=True,
              help="Every failure queue of the stack (stream and workers) with its depth.")
@queue_option
@worker_option
@endpoint_option
def dlq_list(fmt: str, every_queue: bool, queue_name: str | None, worker: str | None,
             endpoint: str | None) -> None:
    """Failed batches (or a worker's failed events) queued for replay (left in the queue)."""
    sqs = aws_client("sqs", endpoint)
    if every_queue:
        _list_depths(sqs, fmt, queue_name or worker)
        return
    name, worker = _target(queue_name, worker)
    found = _queue(sqs, name, worker).peek()
    what = "failed events" if worker else "failed batches"
    if not found and fmt == "table":
        err_console.print(f"no {what} are queued in {name}", highlight=False)
        return
    click.echo(render_rows([item.as_row() for item in found], fmt,
                           title=f"{what} ({len(found)})"), nl=False)


def _list_depths(sqs: Any, fmt: str, conflicting: str | None) -> None:
    from shardline import failure_queues
    from shardline.stack_outputs import StackOutputs

    if conflicting:
        raise ShardlineError("--all lists every failure queue: drop --queue/--worker")
    queues = failure_queues.all_failure_queues(StackOutputs.load())
    rows = failure_queues.depth_rows(sqs, queues)
    click.echo(render_rows(rows, fmt, title=f"failure queues ({len(rows)})"), nl=False)


@dlq.command("replay")
@click.option("--function", "function", default=None,
              help="Function to re-drive through (default: the one each failure names).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--async", "asynchronous", is_flag=True,
              help="Workers only: invoke asynchronously (InvocationType Event) and dequeue "
                   "once Lambda accepted the event, instead of once the function succeeded.")
@queue_option
@worker_option
@endpoint_option
def dlq_replay(function: str | None, yes: bool, asynchronous: bool, queue_name: str | None,
               worker: str | None, endpoint: str | None) -> None:
    """Re-drive each failure and dequeue it: a failed batch is re-read from the stream; a
    worker's failed event is invoked again with its payload."""
    name, worker = _target(queue_name, worker)
    if asynchronous and not worker:
        raise ShardlineError("--async replays a worker's failed events: add --worker")
    queue = _queue(aws_client("sqs", endpoint), name, worker)
    what = "failed events" if worker else "failed batches"
    if not yes:
        pending = queue.peek()
        if not pending:
            raise ShardlineError(f"no {what} are queued in {name}: nothing to replay")
        click.confirm(f"replay {len(pending)} {what} from {name}?", abort=True, err=True)
    # A synchronous invoke lasts up to the function's timeout (at most 900 s).
    invoker = aws_client("lambda", endpoint, read_timeout_s=910)
    if worker:
        _replay_worker(queue, invoker, function, asynchronous)
    else:
        _replay_stream(queue, aws_client("kinesis", endpoint), invoker, function)


def _replay_stream(queue: Any, kinesis: Any, invoker: Any, function: str | None) -> None:
    from shardline.dlq import ReplayOutcome, replay

    def report(outcome: ReplayOutcome) -> None:
        batch = outcome.batch
        err_console.print(f"replayed {batch.shard_id} {batch.start_sequence_number}…"
                          f"{batch.end_sequence_number} ({outcome.records} records) as "
                          f"{batch.replay_segment}", highlight=False)

    # A re-drive retried by botocore is harmless: it rewrites the same replay items.
    outcomes = replay(queue, kinesis, invoker, function=function, on_replayed=report)
    err_console.print(f"replayed {len(outcomes)} failed batches "
                      f"({sum(o.records for o in outcomes)} records)", highlight=False)


def _replay_worker(queue: Any, invoker: Any, function: str | None, asynchronous: bool) -> None:
    from shardline.worker_failures import WorkerFailure, replay_worker_failures

    def report(failure: WorkerFailure) -> None:
        err_console.print(f"replayed {failure.request_id or failure.message_id} "
                          f"({failure.records if failure.records is not None else '?'} "
                          "records)", highlight=False)

    replayed = replay_worker_failures(queue, invoker, function=function,
                                      asynchronous=asynchronous, on_replayed=report)
    err_console.print(f"replayed {len(replayed)} failed events", highlight=False)
