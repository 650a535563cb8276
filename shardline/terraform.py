"""Running the project's Terraform, online or from an offline provider mirror.

The aws provider is found, in order, in:
1. ``TF_PLUGIN_DIR`` (a filesystem mirror: the folder that holds ``registry.terraform.io``);
2. Terraform's own implied mirror folders (``~/.terraform.d/plugins``,
   ``$XDG_DATA_HOME/terraform/plugins``, ``/usr/local/share/terraform/plugins``,
   ``/usr/share/terraform/plugins``) and one level below ``/opt`` and
   ``/usr/local/share`` (where images put shared tool data);
3. otherwise plain ``terraform init`` (the public registry, for machines with internet).
When a mirror is found, shardline writes a CLI configuration that installs the provider
from it and passes it to Terraform through ``TF_CLI_CONFIG_FILE``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shardline.errors import ShardlineError

PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
_PROVIDER_SUBPATH = Path(*PROVIDER_SOURCE.split("/"))
# Terraform and the AWS provider (which builds its whole schema at each start) are
# short-lived Go processes: collecting garbage when the heap reaches 5x the live heap
# instead of 2x (GOGC 400, not 100) took about a quarter off their CPU time in `terraform
# test` with the mocked provider, for ~5 % more peak memory. A GOGC the caller sets wins.
GO_RUNTIME_DEFAULTS = {"GOGC": "400"}


def _candidate_mirrors() -> list[Path]:
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
    fixed = [
        home / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]
    scanned: list[Path] = []
    for root in (Path("/opt"), Path("/usr/local/share")):
        if root.is_dir():
            try:
                scanned.extend(sorted(p for p in root.iterdir() if p.is_dir()))
            except OSError:
                continue
    return fixed + scanned


def find_provider_mirror(environ: Mapping[str, str] | None = None) -> Path | None:
    """The filesystem mirror holding the aws provider, or ``None`` (use the registry)."""
    env = os.environ if environ is None else environ
    explicit = env.get("TF_PLUGIN_DIR")
    if explicit:
        mirror = Path(explicit).expanduser()
        if not (mirror / _PROVIDER_SUBPATH).is_dir():
            raise ShardlineError(
                f"TF_PLUGIN_DIR={explicit} does not contain {PROVIDER_SOURCE}; point it at "
                "the folder that holds registry.terraform.io"
            )
        return mirror
    for mirror in _candidate_mirrors():
        if (mirror / _PROVIDER_SUBPATH).is_dir():
            return mirror
    return None


def find_terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise ShardlineError(
            "terraform is not installed or not on PATH; install Terraform >= 1.6 "
            "(https://developer.hashicorp.com/terraform/install)"
        )
    return binary


def cli_config_text(mirror: Path) -> str:
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f"    include = [{json.dumps(PROVIDER_SOURCE)}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{json.dumps(PROVIDER_SOURCE)}]\n"
        "  }\n"
        "}\n"
    )


@dataclass
class Terraform:
    """One Terraform root module, with its own data dir and state file.

    ``work_dir`` keeps ``.terraform`` data, the CLI config and the state away from the
    source tree, so a local stack never touches the state of a real deployment.
    """

    root: Path
    work_dir: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    binary: str = field(default_factory=find_terraform)

    def __post_init__(self) -> None:
        if not (self.root / "main.tf").is_file():
            raise ShardlineError(f"no Terraform root module at {self.root}")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        # Terraform-specific settings; the rest of the environment is read at each run,
        # so a caller can point the process at an endpoint after constructing this.
        self._settings = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
                          "TF_DATA_DIR": str(self.work_dir / "tf-data")}
        mirror = find_provider_mirror({**os.environ, **self.environment})
        self.mirror = mirror
        if mirror is not None:
            config = self.work_dir / "terraformrc"
            config.write_text(cli_config_text(mirror))
            self._settings["TF_CLI_CONFIG_FILE"] = str(config)

    @property
    def state_path(self) -> Path:
        return self.work_dir / "terraform.tfstate"

    def run(self, args: Sequence[str], *, capture: bool = True) -> str:
        command = [self.binary, f"-chdir={self.root}", *args]
        environment = {**GO_RUNTIME_DEFAULTS, **os.environ, **self.environment,
                       **self._settings}
        completed = subprocess.run(
            command, env=environment, text=True, capture_output=capture, check=False
        )
        if completed.returncode != 0:
            detail = _first_error(completed.stderr or completed.stdout or "")
            raise ShardlineError(f"terraform {args[0]} failed: {detail}")
        return completed.stdout or ""

    def init(self) -> None:
        try:
            self.run(["init", "-input=false", "-no-color"])
        except ShardlineError as exc:
            if self.mirror is None:
                raise ShardlineError(
                    f"{exc} (no provider mirror was found and the registry is unreachable? "
                    f"set TF_PLUGIN_DIR to a folder holding {PROVIDER_SOURCE})"
                ) from None
            raise

    def validate(self) -> str:
        """``terraform init -backend=false`` then ``terraform validate``: no state, no
        credentials; the provider from the mirror when one is found."""
        self.run(["init", "-backend=false", "-input=false", "-no-color"])
        return self.run(["validate", "-no-color"])

    def apply(self, var_file: str, variables: Mapping[str, str] | None = None) -> None:
        args = ["apply", "-input=false", "-auto-approve", "-no-color",
                f"-state={self.state_path}", f"-var-file={var_file}"]
        args += [f"-var={key}={value}" for key, value in (variables or {}).items()]
        self.run(args)

    def outputs(self) -> dict[str, object]:
        raw = json.loads(self.run(["output", "-json", f"-state={self.state_path}"]))
        return {name: entry["value"] for name, entry in raw.items()}


def _first_error(text: str) -> str:
    """The first 'Error:' paragraph of Terraform's output, on one line."""
    lines = [line.strip(" │╷╵\t") for line in text.splitlines()]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            detail = [line]
            for follow in lines[index + 1 : index + 6]:
                if follow:
                    detail.append(follow)
            return " ".join(detail)
    stripped = [line for line in lines if line]
    return stripped[-1] if stripped else "no output"


def main(argv: Sequence[str]) -> int:
    """``python -m shardline.terraform validate <root>`` (``make lint``): validate a root
    module in a throwaway working directory; one-line error and exit 1 when invalid."""
    if len(argv) != 2 or argv[0] != "validate":
        print("usage: python -m shardline.terraform validate <terraform root>", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="shardline-validate-") as work:
        try:
            print(Terraform(Path(argv[1]).resolve(), Path(work)).validate().strip())
        except ShardlineError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
