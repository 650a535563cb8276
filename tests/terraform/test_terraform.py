"""The Terraform is formatted, valid, and its own `terraform test` suite passes (offline,
with the provider from a mirror when one is found)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shardline.terraform import Terraform
from tests.terraform.background import SUITE_TIMEOUT_S, suite_of

ROOT = Path(__file__).resolve().parents[2] / "terraform"

pytestmark = [pytest.mark.terraform,
              pytest.mark.skipif(shutil.which("terraform") is None,
                                 reason="terraform is not installed")]


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    tf = Terraform(ROOT, tmp_path_factory.mktemp("terraform"))
    tf.init()
    return tf


def test_terraform_is_formatted(terraform: Terraform) -> None:
    # GIVEN the modules WHEN checked with `terraform fmt` THEN nothing needs rewriting
    terraform.run(["fmt", "-check", "-recursive", "-no-color"])


def test_terraform_validates(terraform: Terraform) -> None:
    out = terraform.run(["validate", "-no-color"])
    assert "Success" in out


@pytest.mark.timeout(SUITE_TIMEOUT_S + 60)  # may start the suite itself (`pytest -n`)
def test_terraform_test_suite_passes(request: pytest.FixtureRequest) -> None:
    # GIVEN the .tftest.hcl runs (mock provider, plan-only assertions and validations)
    # WHEN `terraform test` runs (beside the session, or now under `pytest -n`)
    # THEN every run passes
    out = suite_of(request.config).output()
    assert " 0 failed" in out or "Success!" in out, out


@pytest.mark.parametrize("environment", ["prod", "dev", "local"])
def test_each_environments_tfvars_plans_as_its_tests_say(terraform: Terraform,
                                                         environment: str) -> None:
    # GIVEN envs/<environment>.tfvars as `make deploy` / `shardline local up` pass it
    # WHEN tests/envs/<environment>.tftest.hcl plans it (mock provider)
    # THEN every run passes: prod and dev fail at plan without the dependencies layer and
    # plan with it; the local stack, whose runtime provides the dependencies, plans without
    out = terraform.run(["test", "-no-color", "-test-directory=tests/envs",
                         f"-filter=tests/envs/{environment}.tftest.hcl",
                         f"-var-file=envs/{environment}.tfvars"])
    assert " 0 failed" in out or "Success!" in out, out
