# Plan-only tests of the root module with a mocked AWS provider: no credentials, no
# network. Needs Terraform >= 1.11 (override_during).

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

# ARNs are computed by AWS; give them values at plan time so wiring can be compared.

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
  target          = module.stream.aws_kms_key.stream
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
  }
}

override_resource {
  target          = module.storage.aws_kms_key.table
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
  }
}

override_resource {
  target          = module.quarantine_storage.aws_kms_key.table
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
  }
}

override_resource {
  target          = module.quarantine_storage.aws_dynamodb_table.this
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-quarantine"
  }
}


override_resource {
  target          = module.fanout[0].module.dispatcher.aws_kinesis_stream_consumer.this[0]
  override_during = plan
  values = {
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry/consumer/fanout:1767225600"
  }
}

override_resource {
  target          = module.fanout[0].module.device_state.aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-device-state"
  }
}

override_resource {
  target          = module.fanout[0].module.device_state_storage.aws_dynamodb_table.this
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-device-state"
  }
}

override_resource {
  target          = module.fanout[0].module.device_state_storage.aws_kms_key.table
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000d"
  }
}

override_resource {
  target          = module.fanout[0].aws_sqs_queue.worker_failures["device_state"]
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:shardline-device-state-failures"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/shardline-device-state-failures"
  }
}

variables {
  aggregator_package_path           = "aggregator.zip"
  aggregator_package_base64sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  dispatcher_package_path           = "dispatcher.zip"
  dispatcher_package_base64sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  device_state_package_path         = "device_state.zip"
  device_state_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  environment                       = "dev"
  # A dependencies layer built elsewhere (plan fails without one; see layers.tf).
  dependencies_layer_arns = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
}

run "fanout_is_built_only_with_both_packages" {
  command = plan

  variables {
    device_state_package_path = null
  }

  assert {
    condition     = length(module.fanout) == 0 && output.dispatcher_function_name == null
    error_message = "Without the worker's package there is no fanout."
  }
}

run "dispatcher_reads_through_an_efo_consumer_with_the_stream_settings" {
  command = plan

  variables {
    fanout = {
      dispatcher = { batch_size = 250, maximum_retry_attempts = 4, maximum_record_age_in_seconds = 7200 }
      routes     = [{ worker = "device_state", metrics = ["temperature_*"] }]
    }
  }

  assert {
    condition     = module.fanout[0].dispatcher_event_source_mapping.event_source_arn == output.fanout_consumer_arn && output.fanout_consumer_arn == "arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry/consumer/fanout:1767225600"
    error_message = "The dispatcher's mapping must read the stream's EFO consumer."
  }

  assert {
    condition     = module.fanout[0].dispatcher_event_source_mapping.bisect_batch_on_function_error && toset(module.fanout[0].dispatcher_event_source_mapping.function_response_types) == toset(["ReportBatchItemFailures"])
    error_message = "The dispatcher bisects and reports batch item failures."
  }

  assert {
    condition     = module.fanout[0].dispatcher_event_source_mapping.batch_size == 250 && module.fanout[0].dispatcher_event_source_mapping.maximum_retry_attempts == 4 && module.fanout[0].dispatcher_event_source_mapping.maximum_record_age_in_seconds == 7200
    error_message = "Mapping settings must be passed through from var.fanout."
  }

  assert {
    condition     = module.fanout[0].dispatcher_event_source_mapping.on_failure_destination_arn == output.failure_queue_arn
    error_message = "Failed dispatcher batches go to the stream's failure queue (shardline dlq)."
  }

  assert {
    condition     = jsondecode(module.fanout[0].dispatcher_environment.workers) == { device_state = "shardline-device-state" } && jsondecode(module.fanout[0].dispatcher_environment.routes)[0].metrics == ["temperature_*"] && jsondecode(module.fanout[0].dispatcher_environment.routes)[0].sites == ["*"]
    error_message = "WORKERS names the device-state function; ROUTES carries the routes with their defaults."
  }

  assert {
    condition     = module.fanout[0].dispatcher_event_source_mapping.starting_position == "TRIM_HORIZON" && output.dispatcher_function_name == "shardline-dispatcher"
    error_message = "The dispatcher is <prefix>-dispatcher and starts at TRIM_HORIZON by default."
  }
}

run "workers_have_async_settings_and_a_failure_queue_each" {
  command = plan

  variables {
    fanout = { device_state = { maximum_retry_attempts = 1, maximum_event_age_in_seconds = 900, offline_after_seconds = 120 } }
  }

  assert {
    condition     = module.fanout[0].worker_event_invoke_configs.device_state.maximum_retry_attempts == 1 && module.fanout[0].worker_event_invoke_configs.device_state.maximum_event_age_in_seconds == 900
    error_message = "The worker's event-invoke config takes var.fanout's settings."
  }

  assert {
    condition     = module.fanout[0].worker_event_invoke_configs.device_state.on_failure_destination == output.worker_failure_queues.device_state.arn && output.worker_failure_queues.device_state.name == "shardline-device-state-failures"
    error_message = "Failed async events of the worker go to its own queue."
  }

  assert {
    condition     = output.device_state_table_name == "shardline-device-state" && output.device_offline_after_seconds == 120
    error_message = "The device-state table and offline threshold are outputs (shardline devices reads them)."
  }
}

run "dispatcher_may_invoke_only_its_workers" {
  command = plan

  assert {
    condition = {
      for statement in module.fanout[0].dispatcher_policy_statements : statement.sid => {
        actions   = toset(statement.actions)
        resources = toset(statement.resources)
      }
      } == {
      ReadEventSource = {
        actions   = toset(["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"])
        resources = toset(["arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry"])
      }
      SubscribeThroughConsumer = {
        actions   = toset(["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"])
        resources = toset(["arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry/consumer/fanout:1767225600"])
      }
      ListStreams = {
        actions   = toset(["kinesis:ListStreams"])
        resources = toset(["*"])
      }
      DecryptKinesis = {
        actions   = toset(["kms:Decrypt"])
        resources = toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"])
      }
      DecryptDynamodb = {
        actions   = toset(["kms:Decrypt"])
        resources = toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000c"])
      }
      BatchWriteTables = {
        actions   = toset(["dynamodb:BatchWriteItem"])
        resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-quarantine"])
      }
      SendToFailureQueue = {
        actions   = toset(["sqs:SendMessage"])
        resources = toset(["arn:aws:sqs:us-east-1:123456789012:shardline-stream-failures"])
      }
      InvokeWorkers = {
        actions   = toset(["lambda:InvokeFunction"])
        resources = toset(["arn:aws:lambda:us-east-1:123456789012:function:shardline-device-state"])
      }
    }
    error_message = "The dispatcher reads the stream through its consumer, writes quarantine items and invokes exactly its workers."
  }

  assert {
    condition     = module.fanout[0].dispatcher_function_name == "shardline-dispatcher" && startswith(module.fanout[0].dispatcher_policy_statements[0].sid, "ReadEventSource")
    error_message = "Statements are named."
  }
}

run "device_state_worker_is_least_privilege" {
  command = plan

  assert {
    condition = {
      for statement in module.fanout[0].device_state_policy_statements : statement.sid => {
        actions   = toset(statement.actions)
        resources = toset(statement.resources)
      }
      } == {
      UpdateDeviceState = {
        actions   = toset(["dynamodb:UpdateItem"])
        resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-device-state"])
      }
      DecryptDeviceStateTable = {
        actions   = toset(["kms:Decrypt"])
        resources = toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000d"])
      }
      SendToOwnFailureQueue = {
        actions   = toset(["sqs:SendMessage"])
        resources = toset(["arn:aws:sqs:us-east-1:123456789012:shardline-device-state-failures"])
      }
    }
    error_message = "The device-state worker updates its table (through its key) and sends to its own failure queue, nothing else."
  }
}

run "routes_must_name_known_workers" {
  command = plan

  variables {
    fanout = { routes = [{ worker = "alerts" }] }
  }

  expect_failures = [var.fanout]
}

run "payloads_must_fit_the_failure_record" {
  command = plan

  variables {
    fanout = { dispatcher = { max_payload_bytes = 300000 } }
  }

  expect_failures = [var.fanout]
}
