# Plan-only tests of modules/stream on its own. Needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  stream_name        = "shardline-telemetry"
  failure_queue_name = "shardline-stream-failures"
}

run "provisioned_stream_is_kms_encrypted" {
  command = plan

  module {
    source = "./modules/stream"
  }

  variables {
    stream_mode = "PROVISIONED"
    shard_count = 2
  }

  assert {
    condition     = aws_kinesis_stream.this.shard_count == 2 && aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "PROVISIONED"
    error_message = "A provisioned stream must get its shard count."
  }

  assert {
    condition     = aws_kinesis_stream.this.encryption_type == "KMS" && module.key.rotation_enabled
    error_message = "The stream must be encrypted with a rotating customer-managed key."
  }

  assert {
    condition     = aws_sqs_queue.failures.sqs_managed_sse_enabled && aws_sqs_queue.failures_dlq.sqs_managed_sse_enabled
    error_message = "Both failure queues must be encrypted."
  }

  assert {
    condition     = aws_sqs_queue.failures.message_retention_seconds == 1209600
    error_message = "Failure records must be kept 14 days by default."
  }
}

run "on_demand_stream_has_no_shard_count" {
  command = plan

  module {
    source = "./modules/stream"
  }

  variables {
    stream_mode = "ON_DEMAND"
    shard_count = 4
  }

  assert {
    condition     = aws_kinesis_stream.this.shard_count == null
    error_message = "An on-demand stream must not set a shard count."
  }
}

run "rejects_provisioned_without_shards" {
  command = plan

  module {
    source = "./modules/stream"
  }

  variables {
    stream_mode = "PROVISIONED"
  }

  expect_failures = [aws_kinesis_stream.this]
}

run "rejects_retention_23_hours" {
  command = plan

  module {
    source = "./modules/stream"
  }

  variables {
    retention_hours = 23
  }

  expect_failures = [var.retention_hours]
}

run "rejects_unknown_stream_mode" {
  command = plan

  module {
    source = "./modules/stream"
  }

  variables {
    stream_mode = "SERVERLESS"
  }

  expect_failures = [var.stream_mode]
}
