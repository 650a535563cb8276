# The KMS keys moved into modules/kms_key without being replaced: a deployed stack keeps
# its keys (a new key would leave every encrypted record, item and message unreadable).
# Each module plans against a state holding its key at the old address (applied from
# tests/fixtures/keys_before_kms_module with the mock provider): the key's ARN is the
# one in that state only if the moved blocks turned the replacement into a state move.
# Needs Terraform >= 1.11 (state_key).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

run "stream_key_before" {
  state_key = "stream"

  module {
    source = "./tests/fixtures/keys_before_kms_module"
  }

  # Real-looking, as the tables and streams validate the ARN of their key.
  override_resource {
    target = aws_kms_key.stream
    values = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    }
  }
}

run "stream_key_is_moved_not_replaced" {
  command   = plan
  state_key = "stream"

  module {
    source = "./modules/stream"
  }

  variables {
    stream_name        = "shardline-telemetry"
    failure_queue_name = "shardline-stream-failures"
  }

  assert {
    condition     = module.key.arn == run.stream_key_before.key_arns.stream && module.key.alias == "alias/shardline-telemetry"
    error_message = "modules/stream must move its key (moved blocks), not replace it."
  }
}

run "table_key_before" {
  state_key = "storage"

  module {
    source = "./tests/fixtures/keys_before_kms_module"
  }

  # Real-looking, as the tables and streams validate the ARN of their key.
  override_resource {
    target = aws_kms_key.table
    values = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
    }
  }
}

run "table_key_is_moved_not_replaced" {
  command   = plan
  state_key = "storage"

  module {
    source = "./modules/storage"
  }

  variables {
    table_name = "shardline-aggregates"
  }

  assert {
    condition     = module.key.arn == run.table_key_before.key_arns.storage && module.key.alias == "alias/shardline-aggregates"
    error_message = "modules/storage must move its key (moved blocks), not replace it."
  }
}

run "alarms_key_before" {
  state_key = "alarms"

  module {
    source = "./tests/fixtures/keys_before_kms_module"
  }

  # Real-looking, as the tables and streams validate the ARN of their key.
  override_resource {
    target = aws_kms_key.alarms
    values = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000e"
    }
  }
}

run "alarms_key_is_moved_not_replaced" {
  command   = plan
  state_key = "alarms"

  module {
    source = "./modules/alarms"
  }

  variables {
    name_prefix           = "shardline"
    metrics_namespace     = "shardline/dev"
    function_names        = ["shardline-aggregator"]
    stream_function_names = ["shardline-aggregator"]
    failure_queue_names   = { stream_failures = "shardline-stream-failures" }
    table_names           = ["shardline-aggregates"]
    stream_name           = "shardline-telemetry"
  }

  assert {
    condition     = module.key.arn == run.alarms_key_before.key_arns.alarms && module.key.alias == "alias/shardline-alarms-topic"
    error_message = "modules/alarms must move its key (moved blocks), not replace it."
  }
}

run "fanout_keys_before" {
  state_key = "fanout"

  module {
    source = "./tests/fixtures/fanout_keys_before_kms_module"
  }
}

run "fanout_keys_are_moved_not_replaced" {
  command   = plan
  state_key = "fanout"

  module {
    source = "./modules/fanout"
  }

  variables {
    name_prefix              = "shardline"
    global_name_prefix       = "shardline-dev"
    metrics_namespace        = "shardline/dev"
    stream_arn               = "arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry"
    stream_kms_key_arn       = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
    stream_failure_queue_arn = "arn:aws:sqs:us-east-1:123456789012:shardline-stream-failures"
    quarantine = {
      table_name     = "shardline-quarantine"
      table_arn      = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-quarantine"
      kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
      retention_days = 14
    }
    dispatcher   = { package_path = "dispatcher.zip", package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }
    device_state = { package_path = "device_state.zip", package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }
    alerts       = { package_path = "alerts.zip", package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }
    archive      = { package_path = "archive.zip", package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }
  }

  assert {
    condition     = output.alerts_topic_kms_key_arn == run.fanout_keys_before.key_arns.alerts_topic && output.archive_kms_key_arn == run.fanout_keys_before.key_arns.archive
    error_message = "modules/fanout must move its keys (moved blocks), not replace them."
  }
}
