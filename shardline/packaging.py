"""Deterministic Lambda zips, built in Python (Terraform here has only the aws provider).

Same sources give the same bytes, hence the same ``source_code_hash`` and no spurious
Lambda updates: entries are sorted, timestamps fixed, permissions normalised, and
caches (``__pycache__``, ``*.pyc``) left out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from shardline.errors import ShardlineError

# 1980-01-01, the earliest timestamp a zip entry can hold.
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_EXCLUDED_SUFFIXES = {".pyc", ".pyo"}

# Each function's zip holds the ``lambdas`` package: the function's own folder plus the
# shared contract it imports. Handler strings are ``lambdas.<function>.handler.lambda_handler``.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "aggregator": ("lambdas/__init__.py", "lambdas/shared", "lambdas/aggregator"),
    "rollup": ("lambdas/__init__.py", "lambdas/shared", "lambdas/rollup"),
    "scheduled_rollup": ("lambdas/__init__.py", "lambdas/shared", "lambdas/scheduled_rollup"),
    "dispatcher": ("lambdas/__init__.py", "lambdas/shared", "lambdas/dispatcher"),
    "device_state": ("lambdas/__init__.py", "lambdas/shared", "lambdas/device_state"),
    "alerts": ("lambdas/__init__.py", "lambdas/shared", "lambdas/alerts"),
    "archive": ("lambdas/__init__.py", "lambdas/shared", "lambdas/archive"),
    # The HTTP query API reads through shardline.query (and its errors), which imports
    # the aggregates contract from lambdas/shared; nothing of the CLI (click, rich).
    "query": ("lambdas/__init__.py", "lambdas/shared", "lambdas/query", "shardline/__init__.py",
              "shardline/errors.py", "shardline/query"),
}

# What `shardline package` writes beside the zips for `terraform apply -var-file=...`.
PACKAGES_VAR_FILE = "packages.tfvars.json"
# The layer's root-module variable (terraform/layers.tf); it has no hash variable.
LAYER_PACKAGE = "dependencies"


@dataclass(frozen=True)
class Package:
    name: str
    path: Path
    base64sha256: str
    # What a layer was built for (None for function zips, which hold only Python source).
    runtime: str | None = None
    architecture: str | None = None


def _files(project_root: Path, includes: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for include in includes:
        source = project_root / include
        if source.is_file():
            files.append(source)
        elif source.is_dir():
            files.extend(
                path for path in source.rglob("*")
                if path.is_file()
                and not _EXCLUDED_DIRS.intersection(path.relative_to(project_root).parts)
                and path.suffix not in _EXCLUDED_SUFFIXES
            )
        else:
            raise ShardlineError(f"package source {include} is missing")
    return sorted(set(files))


def build_zip(project_root: Path, includes: tuple[str, ...], destination: Path) -> str:
    """Write a deterministic zip of ``includes``; return its base64 SHA-256 (Terraform's)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_suffix(f".zip.{os.getpid()}.tmp")  # builds may run at once
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _files(project_root, includes):
            info = zipfile.ZipInfo(path.relative_to(project_root).as_posix(), _FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    temporary.replace(destination)
    digest = hashlib.sha256(destination.read_bytes()).digest()
    return base64.b64encode(digest).decode()


def build_all(project_root: Path, out_dir: Path) -> list[Package]:
    """Build every function's zip into ``out_dir`` (``dist/lambda`` by default)."""
    packages = []
    for name, includes in FUNCTIONS.items():
        path = out_dir / f"{name}.zip"
        packages.append(Package(name, path, build_zip(project_root, includes, path)))
    return packages


def package_variables(packages: list[Package]) -> dict[str, str]:
    """The Terraform variables that deploy ``packages``: ``<name>_package_path`` and
    ``<name>_package_base64sha256`` per function; ``dependencies_layer_path`` and the
    runtime and architecture it was built for (``dependencies_layer_runtime``,
    ``dependencies_layer_architecture``: plan fails unless they are the functions') for the
    layer. The one mapping from zips to variables, for the local stack and for deploys."""
    variables: dict[str, str] = {}
    for package in packages:
        path = str(package.path.resolve())
        if package.name == LAYER_PACKAGE:
            variables["dependencies_layer_path"] = path
            if package.runtime is not None:
                variables["dependencies_layer_runtime"] = package.runtime
            if package.architecture is not None:
                variables["dependencies_layer_architecture"] = package.architecture
        else:
            variables[f"{package.name}_package_path"] = path
            variables[f"{package.name}_package_base64sha256"] = package.base64sha256
    return variables


def write_var_file(packages: list[Package], out_dir: Path) -> Path:
    """Write ``packages.tfvars.json`` (``package_variables``) into ``out_dir``, for
    ``terraform apply -var-file=...``; return its path."""
    path = out_dir / PACKAGES_VAR_FILE
    path.write_text(json.dumps(package_variables(packages), indent=2, sort_keys=True) + "\n")
    return path


# The runtime and architecture the layer targets by default: terraform/variables.tf's
# defaults of lambda_runtime and lambda_architecture.
DEFAULT_RUNTIME = "python3.12"
DEFAULT_ARCHITECTURE = "x86_64"
RUNTIMES = ("python3.11", "python3.12", "python3.13")
# Lambda architecture → the manylinux platform tag of its wheels (Lambda runs Amazon
# Linux 2023, glibc 2.34, so manylinux2014 wheels run on it).
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# Pinned versions of every Lambda dependency with their hashes (`make lock` refreshes it
# from lambdas/requirements.txt, which keeps the lower bounds).
LOCK_FILE = Path("lambdas") / "requirements.lock"


def layer_install_command(requirements: Path, target: Path, *, runtime: str,
                          architecture: str) -> list[str]:
    """The pip command installing the locked dependencies as Linux wheels for ``runtime``
    on ``architecture`` into ``target``: every file checked against the lock's hashes,
    wheels only (nothing is compiled for this machine instead)."""
    if runtime not in RUNTIMES:
        raise ShardlineError(f"unsupported Lambda runtime {runtime!r}; "
                             f"use one of {', '.join(RUNTIMES)}")
    if architecture not in PLATFORMS:
        raise ShardlineError(f"unsupported Lambda architecture {architecture!r}; "
                             f"use one of {', '.join(PLATFORMS)}")
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
        "--disable-pip-version-check", "--require-hashes", "--only-binary=:all:",
        "--platform", PLATFORMS[architecture], "--implementation", "cp",
        "--python-version", runtime.removeprefix("python"),
        "--target", str(target), "-r", str(requirements),
    ]


def lambda_settings_from_var_file(path: Path) -> dict[str, str]:
    """``lambda_runtime`` and ``lambda_architecture`` as a tfvars file sets them (only
    those two plain string assignments are read; absent ones are left out)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ShardlineError(f"cannot read {path}: {exc.strerror}") from None
    settings = {}
    for name in ("lambda_runtime", "lambda_architecture"):
        match = re.search(rf'^\s*{name}\s*=\s*"([^"]*)"', text, flags=re.MULTILINE)
        if match:
            settings[name] = match.group(1)
    return settings


def build_dependencies_layer(project_root: Path, out_dir: Path, *,
                             runtime: str = DEFAULT_RUNTIME,
                             architecture: str = DEFAULT_ARCHITECTURE) -> Package:
    """Install ``lambdas/requirements.lock`` as Linux wheels for ``runtime`` on
    ``architecture`` into a layer zip (``python/`` at its root), deterministically.
    Needs the package index."""
    requirements = project_root / LOCK_FILE
    if not requirements.is_file():
        raise ShardlineError(f"{LOCK_FILE} is missing; create it with `make lock`")
    with tempfile.TemporaryDirectory() as staging:
        target = Path(staging) / "python"
        command = layer_install_command(requirements, target, runtime=runtime,
                                        architecture=architecture)
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            lines = [line for line in completed.stderr.splitlines() if line.strip()]
            raise ShardlineError("building the dependencies layer failed: "
                                 + (lines[-1] if lines else "pip exited with an error"))
        path = out_dir / "dependencies.zip"
        return Package(LAYER_PACKAGE, path, build_zip(Path(staging), ("python",), path),
                       runtime=runtime, architecture=architecture)
