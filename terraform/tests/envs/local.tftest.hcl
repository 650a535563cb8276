# Plan-only test of envs/local.tfvars as `shardline local up` applies it, run by
# tests/terraform/test_terraform.py with -var-file=envs/local.tfvars. Mocked AWS provider.

mock_provider "aws" {
  # Mocked data sources return random strings; these must be JSON or real-looking.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
}

# ARNs are computed by AWS; some get values at plan time so wiring can be compared. The
# KMS keys' ARNs stay unknown, as on a first apply: the plan must not depend on them
# (e.g. for how many policy statements there are).
override_resource {
  target          = module.stream.aws_kinesis_stream.this
  override_during = plan
  values = {
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry"
  }
}

override_resource {
  target          = module.stream.aws_sqs_queue.failures
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:shardline-stream-failures"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/shardline-stream-failures"
  }
}

override_resource {
  target          = module.storage.aws_dynamodb_table.this
  override_during = plan
  values = {
    arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/stream/2026-01-01T00:00:00.000"
  }
}

override_resource {
  target          = module.quarantine_storage.aws_dynamodb_table.this
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-quarantine"
  }
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
