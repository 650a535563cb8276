# Plan-only test of envs/local.tfvars as `shardline local up` applies it, run by
# tests/terraform/test_terraform.py with -var-file=envs/local.tfvars. Mocked AWS provider.

# Shared mocks (tests/mocks/first_apply): the wiring ARNs get values at plan time, the KMS
# keys' ARNs stay unknown, as on a first apply: the plan must not depend on them (e.g. for
# how many policy statements there are).
mock_provider "aws" {
  source = "./tests/mocks/first_apply"
}

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

run "the_local_stack_plans_without_a_layer" {
  command = plan

  assert {
    condition     = length(aws_lambda_layer_version.dependencies) == 0 && length(coalesce(module.aggregator.settings.layers, [])) == 0
    error_message = "The local runtime provides the dependencies: no layer."
  }

  assert {
    condition     = module.aggregator.role_name == "shardline-local-aggregator" && output.metrics_namespace == "shardline/local"
    error_message = "Local IAM names and metrics namespace carry the environment too."
  }
}

run "the_local_stack_deploys_the_fanout" {
  command = plan

  assert {
    condition     = length(module.fanout) == 1 && module.fanout[0].device_offline_after_seconds == 300
    error_message = "envs/local.tfvars deploys the fanout (dispatcher and device-state worker)."
  }
}

run "the_local_stack_deploys_the_query_api" {
  command = plan

  assert {
    condition     = length(module.query_api) == 1 && module.query_api[0].function_name == "shardline-query"
    error_message = "envs/local.tfvars deploys the HTTP query API and its function."
  }
}
