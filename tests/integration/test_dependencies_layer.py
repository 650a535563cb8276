"""The dependencies layer real AWS needs: built from lambdas/requirements.lock (hashes
required) as Linux wheels for the functions' runtime and architecture, deterministically
(needs the package index)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from shardline import packaging

ROOT = Path(__file__).resolve().parents[2]


def test_layer_holds_every_runtime_dependency_and_is_deterministic(tmp_path: Path) -> None:
    # GIVEN the Lambda requirements WHEN the layer is built twice
    first = packaging.build_dependencies_layer(ROOT, tmp_path / "a")
    second = packaging.build_dependencies_layer(ROOT, tmp_path / "b")
    # THEN both builds are identical and the layer holds what the handlers import
    assert first.base64sha256 == second.base64sha256
    names = set(zipfile.ZipFile(first.path).namelist())
    for module in ("aws_lambda_powertools/__init__.py", "aws_xray_sdk/__init__.py",
                   "msgspec/__init__.py", "aws_kinesis_agg/__init__.py", "six.py"):
        assert f"python/{module}" in names, module
    # AND msgspec is the Linux build for the Lambda runtime's Python, not this machine's
    assert any(n.startswith("python/msgspec/_core.cpython-312-x86_64-linux-gnu")
               for n in names)
    assert not any(n.endswith(".pyc") for n in names)


def test_layer_follows_the_runtime_and_architecture_variables(tmp_path: Path) -> None:
    # GIVEN functions on python3.13 and arm64 WHEN the layer is built for them
    layer = packaging.build_dependencies_layer(ROOT, tmp_path, runtime="python3.13",
                                               architecture="arm64")
    # THEN msgspec is the aarch64 build for Python 3.13, and the var file says so, for
    # Terraform's check against lambda_runtime and lambda_architecture
    names = set(zipfile.ZipFile(layer.path).namelist())
    assert any(n.startswith("python/msgspec/_core.cpython-313-aarch64-linux-gnu")
               for n in names)
    variables = packaging.package_variables([layer])
    assert variables["dependencies_layer_runtime"] == "python3.13"
    assert variables["dependencies_layer_architecture"] == "arm64"
