# Plan-only tests of the root module with a mocked AWS provider: no credentials, no
# network. Needs Terraform >= 1.11 (override_during).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  aggregator_package_path         = "aggregator.zip"
  aggregator_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  # A dependencies layer built elsewhere (plan fails without one; see layers.tf).
  dependencies_layer_arns = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
}

run "names_default_to_shardline_prefix" {
  command = plan

  assert {
    condition     = output.stream_name == "shardline-telemetry"
    error_message = "Default stream name must be shardline-telemetry."
  }

  assert {
    condition     = output.aggregates_table_name == "shardline-aggregates"
    error_message = "Default table name must be shardline-aggregates."
  }

  assert {
    condition     = output.aggregator_function_name == "shardline-aggregator"
    error_message = "Default function name must be shardline-aggregator."
  }

  assert {
    condition     = module.stream.failure_queue_name == "shardline-stream-failures"
    error_message = "Default failure queue name must be shardline-stream-failures."
  }
}

run "names_follow_prefix" {
  command = plan

  variables {
    prefix = "acme-iot"
  }

  assert {
    condition     = output.stream_name == "acme-iot-telemetry"
    error_message = "Stream name must be <prefix>-telemetry."
  }

  assert {
    condition     = output.aggregates_table_name == "acme-iot-aggregates"
    error_message = "Table name must be <prefix>-aggregates."
  }

  assert {
    condition     = output.aggregator_function_name == "acme-iot-aggregator"
    error_message = "Function name must be <prefix>-aggregator."
  }

  assert {
    condition     = module.stream.failure_queue_name == "acme-iot-stream-failures"
    error_message = "Failure queue name must be <prefix>-stream-failures."
  }
}

run "local_settings_reach_the_event_source_mapping" {
  command = plan

  # The values of envs/local.tfvars.
  variables {
    aggregator = {
      starting_position                  = "TRIM_HORIZON"
      batch_size                         = 500
      maximum_batching_window_in_seconds = 1
      tumbling_window_in_seconds         = 10
      parallelization_factor             = 1
      maximum_retry_attempts             = 3
      maximum_record_age_in_seconds      = 3600
    }
  }

  assert {
    condition     = module.aggregator.event_source_mapping.batch_size == 500
    error_message = "batch_size must be passed through."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.maximum_batching_window_in_seconds == 1
    error_message = "maximum_batching_window_in_seconds must be passed through."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.tumbling_window_in_seconds == 10
    error_message = "tumbling_window_in_seconds must be passed through."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.parallelization_factor == 1
    error_message = "parallelization_factor must be passed through."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.maximum_retry_attempts == 3
    error_message = "maximum_retry_attempts must be passed through."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.maximum_record_age_in_seconds == 3600
    error_message = "maximum_record_age_in_seconds must be passed through."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.starting_position == "TRIM_HORIZON"
    error_message = "starting_position must be passed through."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.bisect_batch_on_function_error == true
    error_message = "Bisect on function error must be on."
  }

  assert {
    condition     = toset(module.aggregator.event_source_mapping.function_response_types) == toset(["ReportBatchItemFailures"])
    error_message = "The aggregator must report partial batch failures."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.on_failure_destination_arn == output.failure_queue_arn
    error_message = "The on-failure destination must be the failure queue."
  }

  assert {
    condition     = module.aggregator.event_source_mapping.event_source_arn == output.stream_arn
    error_message = "The mapping must read the telemetry stream."
  }
}

run "other_settings_are_not_hard_coded" {
  command = plan

  variables {
    aggregator = {
      starting_position                  = "LATEST"
      batch_size                         = 10000
      maximum_batching_window_in_seconds = 300
      tumbling_window_in_seconds         = 0
      parallelization_factor             = 10
      maximum_retry_attempts             = -1
      maximum_record_age_in_seconds      = -1
    }
  }

  assert {
    condition = (
      module.aggregator.event_source_mapping.batch_size == 10000 &&
      module.aggregator.event_source_mapping.maximum_batching_window_in_seconds == 300 &&
      module.aggregator.event_source_mapping.tumbling_window_in_seconds == 0 &&
      module.aggregator.event_source_mapping.parallelization_factor == 10 &&
      module.aggregator.event_source_mapping.maximum_retry_attempts == -1 &&
      module.aggregator.event_source_mapping.maximum_record_age_in_seconds == -1 &&
      module.aggregator.event_source_mapping.starting_position == "LATEST"
    )
    error_message = "Boundary values of the mapping settings must be passed through unchanged."
  }
}

run "rejects_retention_23_hours" {
  command = plan

  variables {
    stream_retention_hours = 23
  }

  expect_failures = [var.stream_retention_hours]
}

run "rejects_retention_above_365_days" {
  command = plan

  variables {
    stream_retention_hours = 8761
  }

  expect_failures = [var.stream_retention_hours]
}

run "rejects_zero_shards" {
  command = plan

  variables {
    stream_mode = "PROVISIONED"
    shard_count = 0
  }

  expect_failures = [var.shard_count]
}

run "rejects_prefix_with_uppercase" {
  command = plan

  variables {
    prefix = "Shardline"
  }

  expect_failures = [var.prefix]
}

run "live_aliases_pin_a_rollback_and_route_a_canary" {
  command = plan

  variables {
    live_aliases = { aggregator = { version = "3", canary_weight = 0.05 } }
  }

  override_resource {
    target          = module.aggregator.module.function.aws_lambda_function.this
    override_during = plan
    values = {
      arn     = "arn:aws:lambda:us-east-1:123456789012:function:shardline-aggregator"
      version = "4"
    }
  }

  assert {
    condition     = module.aggregator.live_version == "3"
    error_message = "live_aliases.aggregator.version must pin the aggregator's live alias."
  }
}

run "rejects_live_aliases_of_unknown_functions" {
  command = plan

  variables {
    live_aliases = { aggregatr = { version = "3" } }
  }

  expect_failures = [var.live_aliases]
}
