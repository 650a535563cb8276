"""`terraform test` over every .tftest.hcl, started when the session has collected its
tests and run beside them: it takes four to six minutes of plans of the root module with
the mocked provider, all CPU (~150 runs, each starting the AWS provider twice; Terraform
runs with GOGC=400, see ``shardline.terraform``), while the integration tests beside it
spend most of theirs waiting for windows to close.
`test_terraform_test_suite_passes` then only collects its output."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from shardline.terraform import Terraform

ROOT = Path(__file__).resolve().parents[2] / "terraform"
SUITE_TIMEOUT_S = 900
NICENESS = 10


class BackgroundSuite:
    """`terraform init` then `terraform test` in a thread, in a work folder of its own."""

    def __init__(self) -> None:
        self.work_dir = Path(tempfile.mkdtemp(prefix="shardline-tftest-"))
        self._output: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="terraform-test", daemon=True)

    def start(self) -> BackgroundSuite:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            # Low CPU priority for this thread and the terraform processes it starts (on
            # Linux a thread has its own nice value): the tests waiting on the local stack
            # keep their pace on a small machine.
            os.nice(NICENESS)
            terraform = Terraform(ROOT, self.work_dir)
            terraform.init()
            self._output = terraform.run(["test", "-no-color"])
        except BaseException as exc:  # reported by output(), in the test that reads it
            self._error = exc

    def output(self) -> str:
        """What `terraform test` printed; raises what stopped it."""
        self._thread.join(SUITE_TIMEOUT_S)
        if self._thread.is_alive():
            raise TimeoutError(f"terraform test still running after {SUITE_TIMEOUT_S} s")
        if self._error is not None:
            raise self._error
        assert self._output is not None
        return self._output

    def close(self) -> None:
        self._thread.join(SUITE_TIMEOUT_S)
        shutil.rmtree(self.work_dir, ignore_errors=True)


SUITE = pytest.StashKey[BackgroundSuite]()


def start_if_selected(session: pytest.Session) -> None:
    """Start the suite when the session runs the test that reads it. Under `pytest -n`
    every worker collects every test, so there the test starts it when it runs."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    wanted = any(item.name == "test_terraform_test_suite_passes" for item in session.items)
    if wanted and shutil.which("terraform") is not None:
        session.config.stash[SUITE] = BackgroundSuite().start()


def suite_of(config: pytest.Config) -> BackgroundSuite:
    """The session's suite, started now if the session did not start it."""
    if SUITE not in config.stash:
        config.stash[SUITE] = BackgroundSuite().start()
    return config.stash[SUITE]


def finish(session: pytest.Session) -> None:
    suite = session.config.stash.get(SUITE, None)
    if suite is not None:
        suite.close()
