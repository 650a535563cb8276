"""Deploying a test-only handler wrapper into a running stack through the Lambda API, and
deploying the function's own package back afterwards.

This is what an operator would do on AWS for a drill: ``UpdateFunctionCode`` with the
function's package plus the wrapper module, then ``UpdateFunctionConfiguration`` with the
wrapper's handler string and its settings, then ``PublishVersion`` and the ``live`` alias
moved to it (mappings and schedules invoke the alias: docs/deploys.md); afterwards the
alias goes back to the version it pointed to. The local runtime re-reads a function's
configuration about once a second, so a deployment is given ``APPLIES_S``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from shardline import packaging

APPLIES_S = 2.5  # the local runtime re-reads a function's configuration once a second
LIVE = "live"  # the alias every mapping and schedule invokes (terraform/modules/function)
# A wrapper module under tests/ is importable with the packages it is in.
WRAPPER_PACKAGES = ("tests/__init__.py", "tests/support/__init__.py")


class WrappedFunction:
    """One function whose handler is swapped for ``<wrapper_module>.lambda_handler``."""

    def __init__(self, lambda_client: Any, function_name: str, package: str,
                 wrapper_module: str, project_root: Path) -> None:
        self.client = lambda_client
        self.function_name = function_name
        self.includes = packaging.FUNCTIONS[package]
        self.wrapper_file = wrapper_module.replace(".", "/") + ".py"
        self.handler = f"{wrapper_module}.lambda_handler"
        self.root = project_root
        self._original: dict[str, Any] | None = None
        self._live_before: str | None = None

    def deploy(self, variables: dict[str, str]) -> None:
        """Deploy the package plus the wrapper, with ``variables`` added to the function's."""
        before = self.client.get_function_configuration(FunctionName=self.function_name)
        if self._original is None:
            self._original = before
        wrapped = self._zip((*self.includes, *WRAPPER_PACKAGES, self.wrapper_file))
        self._update_code(wrapped)
        original_variables = (self._original.get("Environment") or {}).get("Variables") or {}
        self._update_configuration(Handler=self.handler, Environment={
            "Variables": {**original_variables, **variables}})
        previous = release(self.client, self.function_name)
        if self._live_before is None:
            self._live_before = previous
        time.sleep(APPLIES_S)

    def restore(self) -> None:
        """Deploy the function's own package, handler and environment again (idempotent)."""
        if self._original is None:
            return
        original, self._original = self._original, None
        self._update_configuration(Handler=original["Handler"],
                                   Environment=original.get("Environment") or {"Variables": {}})
        package = self._zip(self.includes)
        self._update_code(package)
        deployed = self.client.get_function_configuration(FunctionName=self.function_name)
        assert deployed["CodeSha256"] == original["CodeSha256"], (
            "the package built now differs from the one deployed before the drill")
        if self._live_before is not None:
            self.client.update_alias(FunctionName=self.function_name, Name=LIVE,
                                     FunctionVersion=self._live_before)
            self._live_before = None
        time.sleep(APPLIES_S)

    def _zip(self, includes: tuple[str, ...]) -> bytes:
        with tempfile.TemporaryDirectory(prefix="wrapped-function-") as folder:
            path = Path(folder) / "package.zip"
            packaging.build_zip(self.root, includes, path)
            return path.read_bytes()

    def _update_code(self, zip_bytes: bytes) -> None:
        self.client.update_function_code(FunctionName=self.function_name, ZipFile=zip_bytes)
        self._settle()

    def _update_configuration(self, **settings: Any) -> None:
        self.client.update_function_configuration(FunctionName=self.function_name, **settings)
        self._settle()

    def _settle(self) -> None:
        """Wait for the update to finish, as AWS requires before the next one."""
        self.client.get_waiter("function_updated_v2").wait(
            FunctionName=self.function_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def release(client: Any, function_name: str) -> str:
    """Publish what ``$LATEST`` holds and point the ``live`` alias at it; returns the
    version the alias pointed to before."""
    client.get_waiter("function_updated_v2").wait(
        FunctionName=function_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    previous = str(client.get_alias(FunctionName=function_name, Name=LIVE)["FunctionVersion"])
    version = client.publish_version(FunctionName=function_name)["Version"]
    client.update_alias(FunctionName=function_name, Name=LIVE, FunctionVersion=version)
    return previous
