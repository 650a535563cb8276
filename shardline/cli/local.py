"""``shardline local up|status|alarms|down``: the embedded local stack's lifecycle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click

from shardline.cli.app import err_console, main
from shardline.cli.render import render_rows
from shardline.errors import ShardlineError
from shardline.local.api_server import DEFAULT_API_PORT
from shardline.local.embedded import DEFAULT_PORT, ensure_port_free
from shardline.local.functions import DEFAULT_MAX_CONCURRENCY


@main.group()
def local() -> None:
    """The embedded local stack (moto in-process + Terraform + the ESM engine)."""


@local.command("up")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port of the embedded AWS endpoint on 127.0.0.1.")
@click.option("--detach", is_flag=True, help="Run in the background; stop with `local down`.")
@click.option("--iam/--no-iam", default=True, show_default=True,
              help="Enforce IAM and KMS permissions after terraform apply, as AWS does.")
@click.option("--max-concurrency", type=click.IntRange(1, 64), default=DEFAULT_MAX_CONCURRENCY,
              show_default=True,
              help="Execution environments per function at most (each is a process); a "
                   "function's reserved concurrency applies under it.")
@click.option("--api-port", type=click.IntRange(1, 65535), default=DEFAULT_API_PORT,
              show_default=True, help="Port of the local HTTP query API on 127.0.0.1.")
def local_up(port: int, detach: bool, iam: bool, max_concurrency: int, api_port: int) -> None:
    """Start the embedded AWS, apply the Terraform to it, and run the mappings."""
    from shardline.local.stack import LocalStack, project_root, read_stack_file, state_dir

    root = project_root()
    running = read_stack_file(root)
    if running and _pid_alive(int(running["pid"])):
        raise ShardlineError(f"a local stack is already up at {running['endpoint_url']} "
                             f"(pid {running['pid']}); `shardline local down` stops it")
    ensure_port_free("127.0.0.1", port)
    ensure_port_free("127.0.0.1", api_port)
    if detach:
        _detach(root, port, state_dir(root), iam, max_concurrency, api_port)
        return
    stack = LocalStack(root=root, port=port, iam=iam, max_concurrency=max_concurrency,
                       api_port=api_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    err_console.print(f"starting the embedded AWS on {stack.endpoint_url} "
                      "and applying terraform (about a minute)…")
    stack.up()
    try:
        page = (f", its page at {stack.api_url}/"
                if stack.api_url and stack.outputs.get("query_page_url") else "")
        err_console.print(f"[green]local stack up[/] at {stack.endpoint_url}; outputs: "
                          f"{json.dumps(stack.outputs)}\nHTTP query API at "
                          f"{stack.api_url or '(none deployed)'}{page}\nfunction logs in "
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


def _detach(root: Path, port: int, directory: Path, iam: bool,
            max_concurrency: int, api_port: int) -> None:
    from shardline.local.stack import read_stack_file

    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "stack.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "shardline", "local", "up", "--port", str(port),
             "--iam" if iam else "--no-iam", "--max-concurrency", str(max_concurrency),
             "--api-port", str(api_port)],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=root,
        )
    deadline = time.time() + 600
    while time.time() < deadline:
        info = read_stack_file(root)
        if info and int(info["pid"]) == process.pid:
            err_console.print(f"[green]local stack up[/] at {info['endpoint_url']}, HTTP "
                              f"query API at {info.get('api_url') or '(none)'} "
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


@local.command("alarms")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def local_alarms(fmt: str) -> None:
    """The CloudWatch alarms of the running stack: name, state, reason, updated."""
    from shardline.cli.app import aws_client
    from shardline.local.alarm_evaluator import alarm_states
    from shardline.local.stack import project_root, read_stack_file

    running = read_stack_file(project_root())
    if running is None:
        raise ShardlineError("no local stack is up (`shardline local up --detach`)")
    rows = alarm_states(aws_client("cloudwatch", running["endpoint_url"]))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(render_rows(rows, "table", title="alarms"), nl=False)


@local.command("down")
def local_down() -> None:
    """Stop a detached local stack."""
    from shardline.local.stack import project_root, stop_detached

    pid = stop_detached(project_root())
    if pid is None:
        err_console.print("no local stack is running")
    else:
        err_console.print(f"local stack (pid {pid}) stopped")
