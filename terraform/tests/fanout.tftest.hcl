# Plan-only tests of the root module with a mocked AWS provider: no credentials, no
# network. Needs Terraform >= 1.11 (override_during).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

# ARNs are computed by AWS; give them values at plan time so wiring can be compared.

override_resource {
  target          = module.fanout[0].module.dispatcher.aws_kinesis_stream_consumer.this[0]
  override_during = plan
  values = {
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry/consumer/fanout:1767225600"
  }
}

override_resource {
  target          = module.fanout[0].module.worker["device_state"].aws_lambda_alias.live
  override_during = plan
  values = {
    arn  = "arn:aws:lambda:us-east-1:123456789012:function:shardline-device-state:live"
    name = "live"
  }
}

override_resource {
  target          = module.fanout[0].module.worker["device_state"].aws_lambda_function.this
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
  target          = module.fanout[0].module.device_state_storage.module.key.aws_kms_key.this
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

override_resource {
  target          = module.fanout[0].module.worker["alerts"].aws_lambda_alias.live
  override_during = plan
  values = {
    arn  = "arn:aws:lambda:us-east-1:123456789012:function:shardline-alerts:live"
    name = "live"
  }
}

override_resource {
  target          = module.fanout[0].module.worker["alerts"].aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-alerts"
  }
}

override_resource {
  target          = module.fanout[0].module.worker["archive"].aws_lambda_alias.live
  override_during = plan
  values = {
    arn  = "arn:aws:lambda:us-east-1:123456789012:function:shardline-archive:live"
    name = "live"
  }
}

override_resource {
  target          = module.fanout[0].module.worker["archive"].aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-archive"
  }
}

override_resource {
  target          = module.fanout[0].module.alert_state_storage.aws_dynamodb_table.this
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-alert-state"
  }
}

override_resource {
  target          = module.fanout[0].module.alert_state_storage.module.key.aws_kms_key.this
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000e"
  }
}

override_resource {
  target          = module.fanout[0].module.service_key["alerts_topic"].aws_kms_key.this
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000f"
  }
}

override_resource {
  target          = module.fanout[0].module.service_key["archive"].aws_kms_key.this
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000010"
  }
}

override_resource {
  target          = module.fanout[0].aws_sns_topic.alerts
  override_during = plan
  values = {
    arn = "arn:aws:sns:us-east-1:123456789012:shardline-alerts"
  }
}

override_resource {
  target          = module.fanout[0].aws_sqs_queue.alerts
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:shardline-alerts"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/shardline-alerts"
  }
}

override_resource {
  target          = module.fanout[0].aws_s3_bucket.archive
  override_during = plan
  values = {
    arn = "arn:aws:s3:::shardline-dev-archive-123456789012"
    id  = "shardline-dev-archive-123456789012"
  }
}

override_resource {
  target          = module.fanout[0].aws_sqs_queue.worker_failures["alerts"]
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:shardline-alerts-failures"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/shardline-alerts-failures"
  }
}

override_resource {
  target          = module.fanout[0].aws_sqs_queue.worker_failures["archive"]
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:shardline-archive-failures"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/shardline-archive-failures"
  }
}

variables {
  aggregator_package_path           = "aggregator.zip"
  aggregator_package_base64sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  dispatcher_package_path           = "dispatcher.zip"
  dispatcher_package_base64sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  device_state_package_path         = "device_state.zip"
  device_state_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  alerts_package_path               = "alerts.zip"
  alerts_package_base64sha256       = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  archive_package_path              = "archive.zip"
  archive_package_base64sha256      = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  environment                       = "dev"
  # A dependencies layer built elsewhere (plan fails without one; see layers.tf).
  dependencies_layer_arns = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
}

run "fanout_is_built_only_with_every_package" {
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
    condition     = jsondecode(module.fanout[0].dispatcher_environment.workers) == { device_state = "shardline-device-state:live", alerts = "shardline-alerts:live", archive = "shardline-archive:live" } && jsondecode(module.fanout[0].dispatcher_environment.routes)[0].metrics == ["temperature_*"] && jsondecode(module.fanout[0].dispatcher_environment.routes)[0].sites == ["*"]
    error_message = "WORKERS names every worker function's live alias; ROUTES carries the routes with their defaults."
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
        resources = toset(["arn:aws:lambda:us-east-1:123456789012:function:shardline-device-state:live", "arn:aws:lambda:us-east-1:123456789012:function:shardline-alerts:live", "arn:aws:lambda:us-east-1:123456789012:function:shardline-archive:live"])
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
    fanout = { routes = [{ worker = "alerts" }, { worker = "sms" }] }
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

run "fanout_needs_the_archive_package_too" {
  command = plan

  variables {
    archive_package_path = null
  }

  assert {
    condition     = length(module.fanout) == 0 && output.archive_bucket_name == null && output.alerts_topic_arn == null
    error_message = "Without every worker's package there is no fanout."
  }
}

run "default_routes_send_every_record_to_every_worker" {
  command = plan

  assert {
    condition     = [for route in jsondecode(module.fanout[0].dispatcher_environment.routes) : [route.worker, route.metrics, route.sites, route.devices]] == [["device_state", ["*"], ["*"], ["*"]], ["alerts", ["*"], ["*"], ["*"]], ["archive", ["*"], ["*"], ["*"]]]
    error_message = "By default every worker gets every record."
  }

  assert {
    condition = alltrue([for name in ["alerts", "archive"] :
      module.fanout[0].worker_event_invoke_configs[name].on_failure_destination == output.worker_failure_queues[name].arn &&
      output.worker_failure_queues[name].name == "shardline-${name}-failures" &&
      module.fanout[0].worker_event_invoke_configs[name].maximum_retry_attempts == 2
    ])
    error_message = "The alerts and archive workers each send failed async events to their own queue."
  }

  assert {
    condition     = output.alerts_function_name == "shardline-alerts" && output.archive_function_name == "shardline-archive" && output.alert_state_table_name == "shardline-alert-state"
    error_message = "Worker functions and the alert-state table are named <prefix>-<name>."
  }
}

run "unknown_route_workers_are_rejected" {
  command = plan

  variables {
    fanout = { routes = [{ worker = "device_state" }, { worker = "pager" }] }
  }

  expect_failures = [var.fanout]
}

run "alert_rules_reach_the_worker_as_its_json" {
  command = plan

  assert {
    condition = jsondecode(module.fanout[0].alerts_environment.ALERT_RULES) == [
      { name = "overheat", metric = "temperature_c", op = ">", threshold = 80, for = 3, severity = "critical" },
      { name = "low-battery", metric = "battery_v", op = "<", threshold = 3.3, for = 1, severity = "warning" },
    ]
    error_message = "The default rules are overheat (temperature_c > 80 for 3) and low-battery (battery_v < 3.3), as lambdas/alerts/config.py reads them."
  }

  assert {
    condition     = module.fanout[0].alerts_environment.ALERT_STATE_TABLE == "shardline-alert-state" && module.fanout[0].alerts_environment.ALERTS_TOPIC_ARN == output.alerts_topic_arn
    error_message = "The alerts worker gets its table and topic."
  }
}

run "alert_rules_with_a_bad_op_are_rejected" {
  command = plan

  variables {
    fanout = { alerts = { rules = [{ name = "hot", metric = "temperature_c", op = "=>", threshold = 80 }] } }
  }

  expect_failures = [var.fanout]
}

run "alert_rules_with_a_bad_for_count_are_rejected" {
  command = plan

  variables {
    fanout = { alerts = { rules = [{ name = "hot", metric = "temperature_c", op = ">", threshold = 80, for_count = 101 }] } }
  }

  expect_failures = [var.fanout]
}

run "alerts_worker_is_least_privilege" {
  command = plan

  assert {
    condition = {
      for statement in module.fanout[0].alerts_policy_statements : statement.sid => {
        actions    = toset(statement.actions)
        resources  = toset(statement.resources)
        conditions = jsonencode([for condition in statement.conditions : [condition.test, condition.variable, condition.values]])
      }
      } == {
      ReadWriteAlertState = {
        actions    = toset(["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"])
        resources  = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-alert-state"])
        conditions = jsonencode([])
      }
      DecryptAlertStateTable = {
        actions    = toset(["kms:Decrypt"])
        resources  = toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000e"])
        conditions = jsonencode([["StringEquals", "kms:ViaService", ["dynamodb.us-east-1.amazonaws.com"]]])
      }
      PublishAlerts = {
        actions    = toset(["sns:Publish"])
        resources  = toset(["arn:aws:sns:us-east-1:123456789012:shardline-alerts"])
        conditions = jsonencode([])
      }
      EncryptAlertsThroughSns = {
        actions    = toset(["kms:Decrypt", "kms:GenerateDataKey*"])
        resources  = toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000f"])
        conditions = jsonencode([["StringEquals", "kms:ViaService", ["sns.us-east-1.amazonaws.com"]]])
      }
      SendToOwnFailureQueue = {
        actions    = toset(["sqs:SendMessage"])
        resources  = toset(["arn:aws:sqs:us-east-1:123456789012:shardline-alerts-failures"])
        conditions = jsonencode([])
      }
    }
    error_message = "The alerts worker reads and writes its state (through the table key), publishes to its topic (through the topic key) and sends to its own failure queue, nothing else."
  }
}

run "archive_worker_is_least_privilege" {
  command = plan

  assert {
    condition = {
      for statement in module.fanout[0].archive_policy_statements : statement.sid => {
        actions    = toset(statement.actions)
        resources  = toset(statement.resources)
        conditions = jsonencode([for condition in statement.conditions : [condition.test, condition.variable, condition.values]])
      }
      } == {
      PutArchiveObjects = {
        actions    = toset(["s3:PutObject"])
        resources  = toset(["arn:aws:s3:::shardline-dev-archive-123456789012/raw/*"])
        conditions = jsonencode([])
      }
      ListArchiveFolders = {
        actions    = toset(["s3:ListBucket"])
        resources  = toset(["arn:aws:s3:::shardline-dev-archive-123456789012"])
        conditions = jsonencode([["StringLike", "s3:prefix", ["raw/dt=*"]]])
      }
      EncryptArchiveThroughS3 = {
        actions    = toset(["kms:GenerateDataKey"])
        resources  = toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000010"])
        conditions = jsonencode([["StringEquals", "kms:ViaService", ["s3.us-east-1.amazonaws.com"]]])
      }
      SendToOwnFailureQueue = {
        actions    = toset(["sqs:SendMessage"])
        resources  = toset(["arn:aws:sqs:us-east-1:123456789012:shardline-archive-failures"])
        conditions = jsonencode([])
      }
    }
    error_message = "The archive worker only puts objects under its prefix (a data key through S3), lists its partition folders, and sends to its own failure queue."
  }
}

run "alerts_topic_is_encrypted_and_only_it_may_send_to_the_queue" {
  command = plan

  assert {
    condition     = module.fanout[0].alerts_topic_kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000f" && module.fanout[0].alerts_topic_kms_key_arn != module.fanout[0].archive_kms_key_arn
    error_message = "The topic is encrypted with its own customer managed key."
  }

  assert {
    condition     = module.fanout[0].alerts_subscription == { topic_arn = output.alerts_topic_arn, protocol = "sqs", endpoint = output.alerts_queue_arn, raw_message_delivery = true }
    error_message = "The alerts queue is subscribed to the topic with raw message delivery."
  }

  assert {
    condition = jsonencode([for statement in module.fanout[0].alerts_queue_policy_statements : {
      actions    = statement.actions
      principals = [for principal in statement.principals : [principal.type, principal.identifiers]]
      conditions = [for condition in statement.condition : [condition.test, condition.variable, condition.values]]
      } if statement.sid == "TopicDelivers"]) == jsonencode([{
      actions    = ["sqs:SendMessage"]
      principals = [["Service", ["sns.amazonaws.com"]]]
      conditions = [["ArnEquals", "aws:SourceArn", ["arn:aws:sns:us-east-1:123456789012:shardline-alerts"]]]
    }])
    error_message = "The queue policy lets SNS send only on behalf of the alerts topic (aws:SourceArn)."
  }

  assert {
    condition     = one([for statement in module.fanout[0].alerts_queue_policy_statements : statement.effect if statement.sid == "DenyInsecureTransport"]) == "Deny"
    error_message = "The alerts queue refuses plain HTTP."
  }
}

run "archive_bucket_is_private_encrypted_versioned_and_expires" {
  command = plan

  variables {
    fanout = { archive = { retention_days = 90 } }
  }

  assert {
    condition     = output.archive_bucket_name == "shardline-dev-archive-123456789012"
    error_message = "The bucket name carries the environment and the account."
  }

  assert {
    condition = (
      module.fanout[0].archive_bucket_settings.encryption.bucket_key_enabled &&
      one(module.fanout[0].archive_bucket_settings.encryption.apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(module.fanout[0].archive_bucket_settings.encryption.apply_server_side_encryption_by_default).kms_master_key_id == module.fanout[0].archive_kms_key_arn
    )
    error_message = "Objects are SSE-KMS with the archive's own key and a bucket key."
  }

  assert {
    condition = alltrue([for setting in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] :
    module.fanout[0].archive_bucket_settings.public_access[setting]])
    error_message = "Every public access block setting is on."
  }

  assert {
    condition     = module.fanout[0].archive_bucket_settings.object_ownership == "BucketOwnerEnforced" && module.fanout[0].archive_bucket_settings.versioning_status == "Enabled"
    error_message = "ACLs are off (BucketOwnerEnforced) and versioning is on."
  }

  assert {
    condition = (
      one(one(module.fanout[0].archive_bucket_settings.lifecycle_rules).expiration).days == 90 &&
      one(one(module.fanout[0].archive_bucket_settings.lifecycle_rules).abort_incomplete_multipart_upload).days_after_initiation == 1 &&
      one(module.fanout[0].archive_bucket_settings.lifecycle_rules).status == "Enabled"
    )
    error_message = "Objects expire after the retention; incomplete multipart uploads are aborted."
  }

  assert {
    condition = jsonencode([for statement in module.fanout[0].archive_bucket_settings.policy_statements : [statement.sid, statement.effect, statement.actions, [for condition in statement.condition : [condition.test, condition.variable, condition.values]]]]) == jsonencode([
      ["DenyInsecureTransport", "Deny", ["s3:*"], [["Bool", "aws:SecureTransport", ["false"]]]]
    ])
    error_message = "The bucket policy denies every request not made over TLS."
  }
}

run "archive_retention_is_validated" {
  command = plan

  variables {
    fanout = { archive = { retention_days = 0 } }
  }

  expect_failures = [var.fanout]
}

run "the_archive_has_a_glue_table_with_partition_projection" {
  command = plan

  assert {
    condition     = output.archive_glue_database == "shardline_archive" && output.archive_glue_table == "raw_telemetry"
    error_message = "Glue database <prefix>_archive, table raw_telemetry."
  }

  assert {
    condition = (
      module.fanout[0].archive_glue_table_parameters["projection.enabled"] == "true" &&
      module.fanout[0].archive_glue_table_parameters["projection.dt.type"] == "date" &&
      module.fanout[0].archive_glue_table_parameters["projection.dt.format"] == "yyyy-MM-dd" &&
      module.fanout[0].archive_glue_table_parameters["projection.hour.type"] == "integer" &&
      module.fanout[0].archive_glue_table_parameters["projection.hour.range"] == "0,23" &&
      module.fanout[0].archive_glue_table_parameters["projection.hour.digits"] == "2" &&
      module.fanout[0].archive_glue_table_parameters["storage.location.template"] == "s3://shardline-dev-archive-123456789012/raw/dt=$${dt}/hour=$${hour}/"
    )
    error_message = "dt is projected as dates and hour as 00-23 over <prefix>dt=.../hour=.../."
  }
}

run "analysts_read_state_alerts_and_archive_without_consuming" {
  command = plan

  assert {
    condition = {
      for statement in data.aws_iam_policy_document.analyst.statement : statement.sid => [toset(statement.actions), toset(statement.resources)]
      if contains(["ReadDeviceAndAlertState", "DecryptStateTablesThroughDynamoDB", "ReadAlertsQueue", "ListArchive", "ReadArchiveObjects", "DecryptArchiveThroughS3"], statement.sid)
      } == {
      ReadDeviceAndAlertState           = [toset(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"]), toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-device-state", "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-alert-state"])]
      DecryptStateTablesThroughDynamoDB = [toset(["kms:Decrypt"]), toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000d", "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000e"])]
      ReadAlertsQueue                   = [toset(["sqs:ChangeMessageVisibility", "sqs:ReceiveMessage"]), toset(["arn:aws:sqs:us-east-1:123456789012:shardline-alerts"])]
      ListArchive                       = [toset(["s3:ListBucket"]), toset(["arn:aws:s3:::shardline-dev-archive-123456789012"])]
      ReadArchiveObjects                = [toset(["s3:GetObject"]), toset(["arn:aws:s3:::shardline-dev-archive-123456789012/raw/*"])]
      DecryptArchiveThroughS3           = [toset(["kms:Decrypt"]), toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000010"])]
    }
    error_message = "Analysts read the state tables, receive and release alerts (no DeleteMessage) and read the archive."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.analyst.statement) == 9
    error_message = "The fanout adds exactly six analyst statements."
  }
}

run "topic_and_archive_keys_are_usable_only_through_their_service" {
  command = plan

  assert {
    condition = alltrue([for name, service in { alerts_topic = "sns", archive = "s3" } : alltrue([
      for statement in module.fanout[0].service_key_policy_statements[name] : (
        jsonencode(statement.actions) == jsonencode(["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"]) &&
        jsonencode([for principal in statement.principals : [principal.type, principal.identifiers]]) == jsonencode([["AWS", ["arn:aws:iam::123456789012:root"]]]) &&
        toset([for condition in statement.condition : jsonencode([condition.test, condition.variable, condition.values])]) == toset([
          jsonencode(["StringEquals", "kms:CallerAccount", ["123456789012"]]),
          jsonencode(["StringEquals", "kms:ViaService", ["${service}.us-east-1.amazonaws.com"]]),
        ])
      ) if statement.sid == "UseThroughService"
    ]) && length([for statement in module.fanout[0].service_key_policy_statements[name] : statement if statement.sid == "UseThroughService"]) == 1])
    error_message = "The topic key is usable through SNS and the archive key through S3, by principals of the account whose IAM policies allow it (the alerts and archive roles)."
  }
}
