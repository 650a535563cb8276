"""Packaging and Terraform discovery."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from shardline import packaging
from shardline.errors import ShardlineError
from shardline.terraform import cli_config_text, find_provider_mirror, find_terraform

ROOT = Path(__file__).resolve().parents[2]


def test_lambda_zip_is_deterministic_and_tracks_sources(tmp_path: Path) -> None:
    # GIVEN a copy of the sources
    source = tmp_path / "src"
    (source / "lambdas" / "fn").mkdir(parents=True)
    (source / "lambdas" / "__init__.py").write_text("")
    (source / "lambdas" / "fn" / "handler.py").write_text("def lambda_handler(e, c): ...\n")
    (source / "lambdas" / "fn" / "__pycache__").mkdir()
    (source / "lambdas" / "fn" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"x")
    includes = ("lambdas/__init__.py", "lambdas/fn")
    # WHEN it is packaged twice
    first = packaging.build_zip(source, includes, tmp_path / "a.zip")
    second = packaging.build_zip(source, includes, tmp_path / "b.zip")
    # THEN the hashes agree, caches are left out, and a source change changes the hash
    assert first == second
    assert zipfile.ZipFile(tmp_path / "a.zip").namelist() == [
        "lambdas/__init__.py", "lambdas/fn/handler.py"]
    (source / "lambdas" / "fn" / "handler.py").write_text("def lambda_handler(e, c): 1\n")
    assert packaging.build_zip(source, includes, tmp_path / "c.zip") != first


def test_every_function_package_builds_from_the_project(tmp_path: Path) -> None:
    built = packaging.build_all(ROOT, tmp_path)
    names = {p.name for p in built}
    assert "aggregator" in names
    archive = zipfile.ZipFile(tmp_path / "aggregator.zip")
    assert "lambdas/aggregator/handler.py" in archive.namelist()
    assert "lambdas/shared/telemetry.py" in archive.namelist()


def test_the_var_file_deploys_every_package_the_terraform_declares(tmp_path: Path) -> None:
    # GIVEN every function built, and a dependencies layer
    built = packaging.build_all(ROOT, tmp_path)
    layer = packaging.Package("dependencies", tmp_path / "dependencies.zip", "unused")
    # WHEN the var file is written
    path = packaging.write_var_file([*built, layer], tmp_path)
    variables = json.loads(path.read_text())
    # THEN it names each zip by absolute path with its hash, and the layer by path
    assert path.name == "packages.tfvars.json"
    for package in built:
        assert variables[f"{package.name}_package_path"] == str(package.path.resolve())
        assert variables[f"{package.name}_package_base64sha256"] == package.base64sha256
    assert variables["dependencies_layer_path"] == str(layer.path.resolve())
    # AND each is a variable of the root module (so `terraform apply` accepts the file)
    declared = {name for tf in (ROOT / "terraform").glob("*.tf")
                for name in re.findall(r'^variable "([a-z0-9_]+)"', tf.read_text(),
                                       flags=re.MULTILINE)}
    assert set(variables) <= declared
    assert {"scheduled_rollup_package_path", "rollup_package_path", "alerts_package_path",
            "archive_package_path"} <= set(variables)


def test_the_layer_is_installed_from_the_lock_with_hashes_for_the_functions_platform(
        tmp_path: Path) -> None:
    # GIVEN functions on arm64 and python3.13 WHEN the layer's pip command is made
    command = packaging.layer_install_command(ROOT / packaging.LOCK_FILE, tmp_path / "python",
                                              runtime="python3.13", architecture="arm64")
    # THEN it installs the lock, checks every hash, takes wheels only, for that platform
    def value(flag: str) -> str:
        return command[command.index(flag) + 1]
    assert value("-r").endswith("lambdas/requirements.lock")
    assert "--require-hashes" in command and "--only-binary=:all:" in command
    assert value("--platform") == "manylinux2014_aarch64"
    assert value("--python-version") == "3.13"
    assert value("--target") == str(tmp_path / "python")
    x86 = packaging.layer_install_command(ROOT / packaging.LOCK_FILE, tmp_path,
                                          runtime="python3.12", architecture="x86_64")
    assert x86[x86.index("--platform") + 1] == "manylinux2014_x86_64"
    # AND a runtime or architecture Terraform would refuse is refused here too
    with pytest.raises(ShardlineError, match="runtime"):
        packaging.layer_install_command(tmp_path, tmp_path, runtime="python3.9",
                                        architecture="x86_64")
    with pytest.raises(ShardlineError, match="architecture"):
        packaging.layer_install_command(tmp_path, tmp_path, runtime="python3.12",
                                        architecture="amd64")
    # AND the choices are exactly the Terraform variables' validations
    variables = (ROOT / "terraform" / "variables.tf").read_text()
    for runtime in packaging.RUNTIMES:
        assert f'"{runtime}"' in variables
    defaults = dict(re.findall(
        r'variable "(lambda_runtime|lambda_architecture)" \{.*?default\s*=\s*"([^"]+)"',
        variables, flags=re.S))
    assert defaults == {"lambda_runtime": packaging.DEFAULT_RUNTIME,
                        "lambda_architecture": packaging.DEFAULT_ARCHITECTURE}


def test_the_lock_pins_every_lambda_dependency_with_hashes() -> None:
    # GIVEN the lower bounds (requirements.txt, also in pyproject) and the lock
    lock = (ROOT / packaging.LOCK_FILE).read_text()
    bounds = [line.split(">=")[0].strip().lower() for line in
              (ROOT / "lambdas" / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    pinned = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+) \\$", lock, flags=re.MULTILINE))
    # THEN every requirement is pinned, every pin carries hashes (pip --require-hashes)
    assert set(bounds) <= set(pinned)
    entries = re.split(r"^(?=[a-z0-9_.-]+==)", lock, flags=re.MULTILINE)[1:]
    assert len(entries) == len(pinned)
    assert all("--hash=sha256:" in entry for entry in entries)
    # AND pyproject keeps the lower bounds (not the pins)
    pyproject = (ROOT / "pyproject.toml").read_text()
    for name in bounds:
        assert re.search(rf'"{re.escape(name)}>=', pyproject), name


def test_the_layer_runtime_and_architecture_come_from_the_env_var_file(tmp_path: Path) -> None:
    # GIVEN prod's tfvars WHEN its Lambda settings are read
    settings = packaging.lambda_settings_from_var_file(
        ROOT / "terraform" / "envs" / "prod.tfvars")
    # THEN they are the ones prod's functions use
    assert settings == {"lambda_runtime": "python3.12", "lambda_architecture": "x86_64"}
    other = tmp_path / "arm.tfvars"
    other.write_text('region = "eu-west-1"\n  lambda_architecture = "arm64" # Graviton\n')
    assert packaging.lambda_settings_from_var_file(other) == {"lambda_architecture": "arm64"}
    # AND a built layer's var file carries what it was built for
    layer = packaging.Package("dependencies", tmp_path / "dependencies.zip", "unused",
                              runtime="python3.12", architecture="arm64")
    assert packaging.package_variables([layer]) == {
        "dependencies_layer_path": str(layer.path.resolve()),
        "dependencies_layer_runtime": "python3.12",
        "dependencies_layer_architecture": "arm64",
    }


def test_provider_mirror_from_tf_plugin_dir(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    assert find_provider_mirror({"TF_PLUGIN_DIR": str(mirror)}) == mirror
    assert str(mirror) in cli_config_text(mirror)


def test_tf_plugin_dir_without_the_provider_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ShardlineError, match=r"does not contain registry\.terraform\.io"):
        find_provider_mirror({"TF_PLUGIN_DIR": str(tmp_path)})


def test_missing_terraform_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ShardlineError, match="terraform is not installed"):
        find_terraform()


def test_init_without_mirror_or_registry_points_at_tf_plugin_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN no provider mirror anywhere and a Terraform that cannot reach the registry
    import shardline.terraform as tf

    monkeypatch.delenv("TF_PLUGIN_DIR", raising=False)
    monkeypatch.setattr(tf, "_candidate_mirrors", lambda: [])
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\necho 'Error: Failed to query available provider packages' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "main.tf").write_text("")
    terraform = tf.Terraform(tmp_path / "root", tmp_path / "work", binary=str(fake))
    # WHEN init runs THEN the error says what failed and how to fix it, on one line
    with pytest.raises(ShardlineError, match="set TF_PLUGIN_DIR") as raised:
        terraform.init()
    assert "Failed to query available provider packages" in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("callers", "wanted"), [(None, "400"), ("100", "100")])
def test_terraform_runs_with_a_lazier_go_collector_unless_the_caller_sets_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, callers: str | None, wanted: str
) -> None:
    # GIVEN a Terraform binary that prints the GOGC it was started with
    import shardline.terraform as tf

    if callers is None:
        monkeypatch.delenv("GOGC", raising=False)
    else:
        monkeypatch.setenv("GOGC", callers)
    fake = tmp_path / "terraform"
    fake.write_text('#!/bin/sh\necho "GOGC=$GOGC"\n')
    fake.chmod(0o755)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "main.tf").write_text("")
    terraform = tf.Terraform(tmp_path / "root", tmp_path / "work", binary=str(fake))
    # WHEN it runs THEN it (and the provider it starts) collect at 4x the live heap, or
    # at the caller's own setting
    assert terraform.run(["version"]).strip() == f"GOGC={wanted}"


def test_the_query_zip_holds_what_its_handler_imports_and_no_cli(tmp_path: Path) -> None:
    # GIVEN the query function's zip, unpacked alone
    packaging.build_zip(ROOT, packaging.FUNCTIONS["query"], tmp_path / "query.zip")
    zipfile.ZipFile(tmp_path / "query.zip").extractall(tmp_path / "code")
    # WHEN a fresh interpreter imports its handler from there (as Lambda does)
    probe = ("import sys, lambdas.query.handler as h, shardline.query as q; "
             "print(h.__file__); print(q.__file__); "
             "print([m for m in ('click', 'rich', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path / "code", check=True,
                         capture_output=True, text=True).stdout.splitlines()
    # THEN the handler and the query package it reads through come from the zip
    assert out[0].startswith(str(tmp_path / "code"))
    assert out[1].startswith(str(tmp_path / "code"))
    # AND nothing of the CLI or the plots is imported (the zip stays small)
    assert out[2] == "[]"
