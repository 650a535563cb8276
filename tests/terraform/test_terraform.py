"""The Terraform is formatted, valid, and its own `terraform test` suite passes (offline,
with the provider from a mirror when one is found)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shardline.terraform import Terraform

ROOT = Path(__file__).resolve().parents[2] / "terraform"

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None,
                                reason="terraform is not installed")


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


def test_terraform_test_suite_passes(terraform: Terraform) -> None:
    # GIVEN the .tftest.hcl runs (mock provider, plan-only assertions and validations)
    # WHEN `terraform test` runs THEN every run passes
    out = terraform.run(["test", "-no-color"])
    assert " 0 failed" in out or "Success!" in out, out
