"""``shardline archive ls|cat``: the raw archive's objects by event hour, and their lines."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from shardline.cli.app import aws_client, endpoint_option, err_console, main
from shardline.cli.render import render_rows
from shardline.errors import ShardlineError

if TYPE_CHECKING:
    from shardline.archive_reader import ArchiveReader

bucket_option = click.option(
    "--bucket", default=None,
    help="Archive bucket (default: the local stack's archive_bucket_name output; there is "
         "no fallback name).")
prefix_option = click.option(
    "--prefix", default=None,
    help="Key prefix of the archive, ending with / (default: the local stack's "
         "archive_prefix output, else none).")


@main.group()
def archive() -> None:
    """The raw archive: every valid record as gzipped JSON Lines in S3, by event hour."""


def _reader(bucket: str | None, prefix: str | None, endpoint: str | None) -> ArchiveReader:
    from shardline.archive_reader import ArchiveReader
    from shardline.stack_outputs import StackOutputs

    outputs = StackOutputs.load()
    name = bucket or outputs.name("archive_bucket_name", flag="--bucket")
    key_prefix = prefix if prefix is not None else str(outputs.get("archive_prefix") or "")
    return ArchiveReader(aws_client("s3", endpoint), name, key_prefix)


@archive.command("ls")
@click.option("--hour", default=None, metavar="YYYY-MM-DDTHH",
              help="One event hour (UTC), e.g. 2026-11-30T14.")
@click.option("--since", default=None,
              help="Every event hour from this long ago to now (90s, 15m, 2h, 7d); "
                   "default 2h.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@bucket_option
@prefix_option
@endpoint_option
def archive_ls(hour: str | None, since: str | None, fmt: str, bucket: str | None,
               prefix: str | None, endpoint: str | None) -> None:
    """Archived objects of an hour (or of the last hours): key, hour, size, last modified."""
    from shardline.archive_reader import hours_since, parse_hour
    from shardline.query import parse_duration

    if hour and since:
        raise ShardlineError("give --hour or --since, not both")
    hours = ([parse_hour(hour)] if hour
             else hours_since(parse_duration(since or "2h"), time.time()))
    rows = [item.as_row() for item in _reader(bucket, prefix, endpoint).objects(hours)]
    if not rows and fmt == "table":
        where = f"hour {hour}" if hour else f"the last {since or '2h'}"
        err_console.print(f"no archived objects for {where}", highlight=False)
        return
    click.echo(render_rows(rows, fmt, title=f"archived objects ({len(rows)})"), nl=False)


@archive.command("cat")
@click.option("--hour", required=True, metavar="YYYY-MM-DDTHH",
              help="Event hour (UTC), e.g. 2026-11-30T14.")
@click.option("--device", default=None, help="Only this device's records.")
@bucket_option
@prefix_option
@endpoint_option
def archive_cat(hour: str, device: str | None, bucket: str | None, prefix: str | None,
                endpoint: str | None) -> None:
    """The hour's records as JSON lines (decompressed), in shard and stream order."""
    from shardline.archive_reader import parse_hour

    start = parse_hour(hour)
    for line in _reader(bucket, prefix, endpoint).lines(start, device):
        click.echo(line)  # bytes, as archived
