"""Conformance tests: one fresh embedded AWS per test, engine on a virtual clock."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from shardline.local.embedded import EmbeddedAws, reset_backends
from tests.conformance.harness import Harness


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def embedded_aws() -> Iterator[EmbeddedAws]:
    aws = EmbeddedAws(port=_free_port())
    aws.start()
    yield aws
    aws.stop()


@pytest.fixture
def harness(embedded_aws: EmbeddedAws, tmp_path: Path) -> Iterator[Harness]:
    reset_backends()
    running = Harness(embedded_aws, tmp_path)
    yield running
    running.close()
    reset_backends()
