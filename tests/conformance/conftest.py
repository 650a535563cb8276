"""Conformance tests: one fresh embedded AWS per test, engine on a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shardline.local.embedded import EmbeddedAws, reset_backends
from tests.conformance.harness import Harness


@pytest.fixture
def harness(embedded_aws: EmbeddedAws, tmp_path: Path) -> Iterator[Harness]:
    reset_backends()
    running = Harness(embedded_aws, tmp_path)
    yield running
    running.close()
    reset_backends()


@pytest.fixture
def iam_harness(embedded_aws: EmbeddedAws, tmp_path: Path) -> Iterator[Harness]:
    """A harness with IAM and KMS enforced, as ``local up`` runs after terraform apply."""
    reset_backends()
    running = Harness(embedded_aws, tmp_path, iam=True)
    yield running
    running.close()
    reset_backends()
