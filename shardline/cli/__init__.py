"""The ``shardline`` command line: one module per command group, each registering its
commands on the ``main`` group of ``app``. Command modules import their heavy
dependencies inside the commands, so ``shardline --help`` stays fast."""

from shardline.cli import (  # noqa: F401  (each module registers its commands)
    alerts,
    archive,
    demo,
    devices,
    dlq,
    local,
    mappings,
    package,
    plan,
    quarantine,
    query,
    rollup,
    simulate,
    streams,
)
from shardline.cli.app import aws_client, main
from shardline.cli.render import render_rows

__all__ = ["aws_client", "main", "render_rows"]
