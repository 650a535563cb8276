"""The ``shardline`` command line: local stack, device simulator, queries, packaging."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import click
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shardline.errors import ShardlineError
from shardline.local.embedded import DEFAULT_PORT, ensure_port_free

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

DEFAULT_STREAM = "shardline-telemetry"
DEFAULT_TABLE = "shardline-aggregates"


# -- shared plumbing -------------------------------------------------------------------
def aws_client(service: str, endpoint: str | None, *, read_timeout_s: int = 30) -> Any:
    """A boto3 client for ``endpoint`` (or the default AWS endpoint resolution)."""
    kwargs: dict[str, Any] = {}
    if endpoint:
        parsed = urlparse(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ShardlineError(f"invalid endpoint {endpoint!r}: expected a URL like "
                                 f"http://127.0.0.1:{DEFAULT_PORT}")
        kwargs["endpoint_url"] = endpoint
        if parsed.hostname in ("127.0.0.1", "localhost", "::1") and not (
            os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
        ):
            kwargs.update(aws_access_key_id="test", aws_secret_access_key="test")
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        kwargs["region_name"] = "us-east-1"
    config = Config(connect_timeout=3, read_timeout=read_timeout_s,
                    retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client(service, config=config, **kwargs)


def _describe_client_error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "Error"), error.get("Message", str(exc))
    if code in ("ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue"):
        return f"not found: {message} (is the stack deployed? `shardline local up`)"
    return f"{exc.operation_name} failed: {code}: {message}"


class _Group(click.Group):
    """Turns the errors a user can cause into one line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShardlineError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(exc.exit_code)
        except EndpointConnectionError as exc:
            err_console.print(f"[bold red]error:[/] cannot reach {exc.kwargs.get('endpoint_url')}"
                              ": is the stack up? (`shardline local up`)", highlight=False)
            sys.exit(3)
        except ClientError as exc:
            err_console.print(f"[bold red]error:[/] {_describe_client_error(exc)}",
                              highlight=False)
            sys.exit(3)
        except BotoCoreError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(3)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


endpoint_option = click.option(
    "--endpoint", envvar="AWS_ENDPOINT_URL", default=None, metavar="URL",
    help="AWS endpoint (e.g. http://127.0.0.1:4566 for the local stack); "
         "default: $AWS_ENDPOINT_URL, else real AWS.",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(package_name="shardline")
def main(verbose: bool) -> None:
    """shardline: IoT telemetry on Kinesis + Lambda + DynamoDB, locally or on AWS."""
    _configure_logging(verbose)


# -- local stack -----------------------------------------------------------------------
@main.group()
def local() -> None:
    """The embedded local stack (moto in-process + Terraform + the ESM engine)."""


@local.command("up")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port of the embedded AWS endpoint on 127.0.0.1.")
@click.option("--detach", is_flag=True, help="Run in the background; stop with `local down`.")
@click.option("--iam/--no-iam", default=True, show_default=True,
              help="Enforce IAM and KMS permissions after terraform apply, as AWS does.")
def local_up(port: int, detach: bool, iam: bool) -> None:
    """Start the embedded AWS, apply the Terraform to it, and run the mappings."""
    from shardline.local.stack import LocalStack, project_root, read_stack_file, state_dir

    root = project_root()
    running = read_stack_file(root)
    if running and _pid_alive(int(running["pid"])):
        raise ShardlineError(f"a local stack is already up at {running['endpoint_url']} "
                             f"(pid {running['pid']}); `shardline local down` stops it")
    ensure_port_free("127.0.0.1", port)
    if detach:
        _detach(root, port, state_dir(root), iam)
        return
    stack = LocalStack(root=root, port=port, iam=iam)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    err_console.print(f"starting the embedded AWS on {stack.endpoint_url} "
                      "and applying terraform (about a minute)…")
    stack.up()
    try:
        err_console.print(f"[green]local stack up[/] at {stack.endpoint_url}; outputs: "
                          f"{json.dumps(stack.outputs)}\nfunction logs in "
                          f"{stack.dir / 'logs'}; Ctrl-C to stop")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        err_console.print("tearing down…")
        stack.down()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _detach(root: Path, port: int, directory: Path, iam: bool = True) -> None:
    from shardline.local.stack import read_stack_file

    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "stack.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "shardline", "local", "up", "--port", str(port),
             "--iam" if iam else "--no-iam"],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=root,
        )
    deadline = time.time() + 600
    while time.time() < deadline:
        info = read_stack_file(root)
        if info and int(info["pid"]) == process.pid:
            err_console.print(f"[green]local stack up[/] at {info['endpoint_url']} "
                              f"(pid {process.pid}, log {log_path})")
            return
        if process.poll() is not None:
            lines = [line for line in log_path.read_text().splitlines() if line.strip()]
            raise ShardlineError(lines[-1] if lines else "local stack exited at start-up")
        time.sleep(0.5)
    process.terminate()
    raise ShardlineError(f"local stack did not come up within 10 minutes; see {log_path}")


@local.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def local_status(fmt: str) -> None:
    """Each mapping's shards: checkpoint, lag, invocations, errors, retries."""
    from shardline.local.stack import project_root, state_dir
    from shardline.local.status import read_status

    status = read_status(state_dir(project_root()))
    if fmt == "json":
        click.echo(json.dumps(status, indent=2))
        return
    rows = [{
        "function": c["function"], "source": c["source"].split(":", 5)[-1],
        "shard": c["shard"], "checkpoint": c["checkpoint"] or "-",
        "buffered": c["buffered"], "iterator_age_s": c["iterator_age_s"],
        "invocations": c["invocations"], "errors": c["errors"], "retries": c["retries"],
        "problem": c.get("problem") or "-",
    } for c in status["consumers"]]
    click.echo(render_rows(rows, "table", title="event source mappings"), nl=False)
    for blocked in status.get("blocked", []):
        click.echo(f"PROBLEM: mapping {blocked['mapping']} cannot start: {blocked['problem']}")
    for denial in status.get("access_denials", []):
        click.echo(f"access denied: {denial}")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(status["invocations_by_outcome"].items()))
    click.echo(f"invocations: {outcomes or 'none yet'}")


@local.command("down")
def local_down() -> None:
    """Stop a detached local stack."""
    from shardline.local.stack import project_root, stop_detached

    pid = stop_detached(project_root())
    if pid is None:
        err_console.print("no local stack is running")
    else:
        err_console.print(f"local stack (pid {pid}) stopped")


# -- simulate --------------------------------------------------------------------------
@main.command()
@click.option("--devices", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--rate", type=click.FloatRange(0.001, 1000, min_open=False), default=2.0,
              show_default=True, help="Records per second per device.")
@click.option("--duration", type=click.FloatRange(0.1, 86_400), default=30.0, show_default=True,
              help="Seconds of telemetry to produce.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--sites", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--stream", default=DEFAULT_STREAM, show_default=True)
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("manifest.json"), show_default=True,
              help="Where to write the ground truth of what Kinesis accepted.")
@click.option("--fast", is_flag=True,
              help="Send as fast as possible (same event times) instead of in real time.")
@click.option("--aggregate/--no-aggregate", default=True, show_default=True,
              help="KPL-aggregate user records per shard (many per Kinesis record), or put "
                   "one Kinesis record per user record.")
@endpoint_option
def simulate(devices: int, rate: float, duration: float, seed: int, sites: int, stream: str,
             manifest_path: Path, fast: bool, aggregate: bool, endpoint: str | None) -> None:
    """Simulate a fleet of devices pushing telemetry v1 into Kinesis."""
    from producers.aggregation import AggregatingPublisher
    from producers.fleet import FleetConfig
    from producers.publisher import KinesisPublisher
    from producers.simulate import Publisher, SimulationError, run_simulation

    try:
        config = FleetConfig(devices=devices, rate_hz=rate, duration_s=duration, seed=seed,
                             sites=sites)
    except ValueError as exc:
        raise ShardlineError(str(exc)) from None
    client = aws_client("kinesis", endpoint)
    client.describe_stream_summary(StreamName=stream)  # fail early, with a clear message
    plain = KinesisPublisher(stream, client)
    publisher: Publisher = AggregatingPublisher(plain) if aggregate else plain
    expected = int(devices * rate * duration)
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


# -- query -----------------------------------------------------------------------------
@main.command()
@click.option("--device", default=None, help="Device id, e.g. dev-00001.")
@click.option("--site", default=None, help="A site's roll-ups (with --resolution 5m or 1h).")
@click.option("--fleet", is_flag=True, help="The fleet's roll-ups (with --resolution 5m or 1h).")
@click.option("--metric", required=True, help="Metric name, e.g. temperature_c.")
@click.option("--resolution", type=click.Choice(["1m", "5m", "1h"]), default="1m",
              show_default=True,
              help="1m: minute totals (per device); 5m, 1h: the scheduled rollup's roll-ups.")
@click.option("--since", default="15m", show_default=True, help="How far back (90s, 15m, 2h, 7d).")
@click.option("--until", "until", default=None, help="Up to how long ago (default: now).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--table", "table_name", default=DEFAULT_TABLE, show_default=True)
@endpoint_option
def query(device: str | None, site: str | None, fleet: bool, metric: str, resolution: str,
          since: str, until: str | None, fmt: str, table_name: str,
          endpoint: str | None) -> None:
    """count/mean/min/max of a metric per minute (one device), or per 5 minutes or hour
    (one device, one site or the fleet)."""
    from shardline.query import RESOLUTIONS, AggregateReader, parse_duration

    scopes = [name for name, given in (("--device", device), ("--site", site),
                                       ("--fleet", fleet)) if given]
    if len(scopes) != 1:
        raise ShardlineError("give exactly one of --device, --site or --fleet"
                             + (f" (got {', '.join(scopes)})" if scopes else ""))
    if resolution == "1m" and not device:
        raise ShardlineError(f"{scopes[0]} has no per-minute data (minute totals are per "
                             "device): use --resolution 5m or 1h")
    now = time.time()
    since_s = now - parse_duration(since)
    until_s = now - parse_duration(until) if until else now
    if until_s < since_s:
        raise ShardlineError("--until must be more recent than --since")
    reader = AggregateReader(table_name, aws_client("dynamodb", endpoint))
    if resolution == "1m":
        assert device is not None
        rows = [r.as_dict() for r in reader.series(device, metric, since_s=since_s,
                                                   until_s=until_s)]
        title = f"{device} {metric}"
    else:
        scope = "device" if device else "site" if site else "fleet"
        rows = [r.as_dict() for r in reader.rollups(
            scope, metric, resolution_s=RESOLUTIONS[resolution], since_s=since_s,
            until_s=until_s, device=device, site=site)]
        title = f"{device or site or 'fleet'} {metric} ({resolution} roll-ups)"
    click.echo(render_rows(rows, fmt, title=title), nl=False)


# -- rollup ----------------------------------------------------------------------------
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
    click.echo(json.dumps(_invoke_json(client, name, payload), indent=2))


def _is_hour(text: str) -> bool:
    from lambdas.shared.aggregates import parse_hour_label

    try:
        parse_hour_label(text)
    except ValueError:
        return False
    return True


# -- devices ---------------------------------------------------------------------------
@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--table", "table_name", default=None,
              help="Device-state table (default: the stack's output, else shardline-device-state).")
@click.option("--offline-after", type=click.IntRange(1, 604_800), default=None,
              help="Seconds of silence after which a device is offline (default: the stack's "
                   "device_offline_after_seconds, else 300).")
@endpoint_option
def devices(fmt: str, table_name: str | None, offline_after: int | None,
            endpoint: str | None) -> None:
    """Every device: online or offline, last seen, latest value of each metric."""
    from shardline import devices as device_state

    default_table, default_offline = device_state.stack_settings()
    reader = device_state.DeviceStateReader(table_name or default_table,
                                            aws_client("dynamodb", endpoint))
    rows = device_state.rows(reader.states(), offline_after_s=offline_after or default_offline)
    if not rows and fmt == "table":
        err_console.print("no device has reported yet", highlight=False)
        return
    click.echo(render_rows(rows, fmt, title=f"devices ({len(rows)})"), nl=False)


# -- quarantine ------------------------------------------------------------------------
@main.group()
def quarantine() -> None:
    """Records the aggregator rejected (undecodable or outside the telemetry contract)."""


@quarantine.command("list")
@click.option("--since", default="1h", show_default=True,
              help="How far back, by arrival time (90s, 15m, 2h, 7d).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="json and csv include the raw bytes (base64).")
@click.option("--table", "table_name", default="shardline-quarantine", show_default=True)
@endpoint_option
def quarantine_list(since: str, fmt: str, table_name: str, endpoint: str | None) -> None:
    """Quarantined records: arrival, shard, sequence numbers, partition key, reason."""
    from shardline.quarantine import QuarantineReader
    from shardline.query import parse_duration

    since_s = time.time() - parse_duration(since)
    records = QuarantineReader(table_name, aws_client("dynamodb", endpoint)).records(
        since_s=since_s)
    rows = [record.as_row(with_data=fmt != "table") for record in records]
    if not rows and fmt == "table":
        err_console.print(f"no records quarantined in the last {since}", highlight=False)
        return
    click.echo(render_rows(rows, fmt, title=f"quarantined records ({len(rows)})"), nl=False)


# -- dlq -------------------------------------------------------------------------------
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


def render_rows(rows: list[dict[str, Any]], fmt: str, *, title: str = "") -> str:
    """Rows as a rich table, CSV or JSON text."""
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    columns = list(rows[0]) if rows else ["minute", "count", "mean", "min", "max"]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    table = Table(title=title or None)
    for column in columns:
        numeric = all(_is_number(row[column]) for row in rows)
        table.add_column(column, justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(_format_cell(row[c]) for c in columns))
    # Tables take the width they need (they do not expand), so cells never wrap.
    capture = Console(file=io.StringIO(), width=400, force_terminal=False)
    capture.print(table)
    return capture.file.getvalue()  # type: ignore[attr-defined]


def _is_number(value: Any) -> bool:
    if isinstance(value, int | float):
        return True
    try:
        Decimal(str(value))
    except ArithmeticError:
        return False
    return True


def _format_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# -- package ---------------------------------------------------------------------------
@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: dist/lambda in the project).")
@click.option("--with-dependencies", is_flag=True,
              help="Also build dependencies.zip, the layer real AWS needs, from "
                   "lambdas/requirements.lock (uses the package index).")
@click.option("--var-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None,
              help="Build the layer for the lambda_runtime and lambda_architecture this "
                   "tfvars file sets (e.g. terraform/envs/prod.tfvars).")
@click.option("--runtime", default=None,
              help="Lambda runtime of the layer (default: the var file's, else "
                   "python3.12, Terraform's default).")
@click.option("--architecture", type=click.Choice(["x86_64", "arm64"]), default=None,
              help="Lambda architecture of the layer (default: the var file's, else x86_64).")
def package(out: Path | None, with_dependencies: bool, var_file: Path | None,
            runtime: str | None, architecture: str | None) -> None:
    """Build the Lambda zips (deterministic: same sources, same hash), and
    packages.tfvars.json naming each zip and its hash for `terraform apply -var-file`."""
    from shardline import packaging
    from shardline.local.stack import project_root

    root = project_root()
    out_dir = out or root / "dist" / "lambda"
    settings = packaging.lambda_settings_from_var_file(var_file) if var_file else {}
    runtime = runtime or settings.get("lambda_runtime", packaging.DEFAULT_RUNTIME)
    architecture = architecture or settings.get("lambda_architecture",
                                                packaging.DEFAULT_ARCHITECTURE)
    built = packaging.build_all(root, out_dir)
    if with_dependencies:
        built.append(packaging.build_dependencies_layer(root, out_dir, runtime=runtime,
                                                        architecture=architecture))
    for package_ in built:
        click.echo(f"{package_.path}  sha256(base64)={package_.base64sha256}")
    var_file = packaging.write_var_file(built, out_dir)
    click.echo(f"{var_file}  (terraform apply -var-file=… deploys every package above)")


# -- demo ------------------------------------------------------------------------------
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
              lambda: _invoke_json(stack.client("lambda"),
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


def _invoke_json(client: Any, function: str, payload: dict[str, Any]) -> Any:
    """Invoke ``function`` synchronously; its JSON result, or a one-line error."""
    response = client.invoke(FunctionName=function, InvocationType="RequestResponse",
                             Payload=json.dumps(payload).encode())
    body = response["Payload"].read()
    if response.get("FunctionError"):
        try:
            message = json.loads(body).get("errorMessage") or body.decode()
        except (ValueError, AttributeError):
            message = body.decode(errors="replace")
        raise ShardlineError(f"{function} failed: {' '.join(str(message).split())}")
    return json.loads(body)


def _step(label: str, action: Callable[[], Any]) -> Any:
    started = time.monotonic()
    err_console.print(f"… {label}", highlight=False)
    value = action()
    err_console.print(f"  done in {time.monotonic() - started:.1f} s", highlight=False)
    return value


if __name__ == "__main__":  # pragma: no cover
    main()
