"""The embedded stack, brought up once per test run (moto + real `terraform apply`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shardline.local.stack import LocalStack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # Its own state folder: never touch a stack the developer has running.
    with LocalStack(port=0, dir=tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            # Under `pytest -n` (`make test`), the tests sharing the stack run on one
            # worker, in order, while the others take the remaining tests.
            if "stack" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group("stack"))
