# Plan-only tests of envs/prod.tfvars as `make deploy` applies it, run by
# tests/terraform/test_terraform.py with -var-file=envs/prod.tfvars (not by a plain
# `terraform test`, whose test directory is tests/). Mocked AWS provider.

# Shared mocks (tests/mocks/first_apply): the wiring ARNs get values at plan time, the KMS
# keys' ARNs stay unknown, as on a first apply: the plan must not depend on them (e.g. for
# how many policy statements there are).
mock_provider "aws" {
  source = "./tests/mocks/first_apply"
}

# The zips `make package` builds are not needed to plan: their hashes are given.
variables {
  aggregator_package_base64sha256       = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  rollup_package_base64sha256           = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  scheduled_rollup_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  dispatcher_package_base64sha256       = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  device_state_package_base64sha256     = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  alerts_package_base64sha256           = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  archive_package_base64sha256          = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  query_package_base64sha256            = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
}

run "a_plain_apply_without_the_layer_fails_at_plan" {
  command = plan

  expect_failures = [terraform_data.dependencies]
}

run "with_the_layer_make_deploy_builds_prod_plans" {
  command = plan

  # What `shardline package --with-dependencies --var-file envs/prod.tfvars` writes.
  variables {
    dependencies_layer_path         = "tests/fixtures/layer.zip"
    dependencies_layer_runtime      = "python3.12"
    dependencies_layer_architecture = "x86_64"
  }

  assert {
    condition     = aws_lambda_layer_version.dependencies[0].compatible_architectures == toset(["x86_64"]) && module.aggregator.settings.architectures == tolist(["x86_64"])
    error_message = "prod's layer and functions must share lambda_architecture."
  }

  assert {
    condition     = module.scheduled_rollup[0].settings.reserved_concurrent_executions == -1
    error_message = "prod must not reserve concurrency for the scheduled rollup (the lease serialises its runs)."
  }

  assert {
    condition     = module.aggregator.role_name == "shardline-prod-aggregator" && module.rollup[0].role_name == "shardline-prod-rollup" && module.scheduled_rollup[0].role_name == "shardline-prod-scheduled-rollup"
    error_message = "prod's IAM roles must carry the environment."
  }

  assert {
    condition     = aws_iam_policy.producer.name == "shardline-prod-producer" && output.metrics_namespace == "shardline/prod"
    error_message = "prod's IAM policies and metrics namespace must carry the environment."
  }

  assert {
    condition     = module.aggregator.settings.log_retention_in_days == 365 && module.rollup[0].settings.log_retention_in_days == 365
    error_message = "prod keeps function logs a year."
  }

  assert {
    condition     = module.rollup[0].settings.environment_variables["MINUTE_RETENTION_DAYS"] == "35" && module.scheduled_rollup[0].settings.environment_variables["ROLLUP_RETENTION_DAYS"] == "731"
    error_message = "prod keeps minute data 35 days and roll-ups two years."
  }
}
