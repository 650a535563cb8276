"""The ``shardline`` click group and what every command shares: the one-line error
handling, logging, the boto3 client factory and the ``--endpoint`` option."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any
from urllib.parse import urlparse

import boto3
import click
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from rich.console import Console

from shardline.errors import ShardlineError
from shardline.local.embedded import DEFAULT_PORT

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


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
    if code in ("ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue",
                "NoSuchBucket"):
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


def invoke_json(client: Any, function: str, payload: dict[str, Any]) -> Any:
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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(package_name="shardline")
def main(verbose: bool) -> None:
    """shardline: IoT telemetry on Kinesis + Lambda + DynamoDB, locally or on AWS."""
    _configure_logging(verbose)


__all__ = ["aws_client", "console", "endpoint_option", "err_console", "invoke_json", "main"]
