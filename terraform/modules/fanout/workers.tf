# The worker functions the dispatcher invokes asynchronously: each with its own role
# (statements in iam.tf), its event-invoke config (retries 0-2, maximum event age) and its
# own failure queue (queues.tf). What differs between them is in the locals below; the
# resources each one uses are in main.tf (device_state), alerts.tf and archive.tf.

locals {
  # One object per concern, indexed by the worker's logical name (their values differ in
  # type from worker to worker, so for_each runs over the names).
  worker_settings = {
    device_state = var.device_state
    alerts       = var.alerts
    archive      = var.archive
  }
  worker_services = {
    device_state = "device-state"
    alerts       = "alerts"
    archive      = "archive"
  }
  worker_descriptions = {
    device_state = "Keeps the latest reading per metric and the last-seen time of every device"
    alerts       = "Evaluates threshold rules per device and publishes raised and resolved alerts"
    archive      = "Archives raw telemetry as gzipped JSON Lines in S3, by event date and hour"
  }
  worker_statements = {
    device_state = local.device_state_statements
    alerts       = local.alerts_statements
    archive      = local.archive_statements
  }
  worker_environment = {
    device_state = {
      DEVICE_STATE_TABLE = module.device_state_storage.table_name
    }
    alerts = {
      ALERT_RULES       = jsonencode(local.alert_rules)
      ALERT_STATE_TABLE = module.alert_state_storage.table_name
      ALERTS_TOPIC_ARN  = aws_sns_topic.alerts.arn
    }
    archive = {
      ARCHIVE_BUCKET      = aws_s3_bucket.archive.id
      ARCHIVE_PREFIX      = var.archive.prefix
      ARCHIVE_KMS_KEY_ARN = module.service_key["archive"].arn
    }
  }
}

module "worker" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable.
  #checkov:skip=CKV_AWS_117:Workers reach DynamoDB, SNS, S3 and SQS over their public endpoints; no VPC resources to protect.
  #checkov:skip=CKV_AWS_116:Async failures go to the on-failure destination of the event-invoke config (an SQS queue per worker), which supersedes a DLQ and carries the payload.
  source   = "../function"
  for_each = local.worker_names

  function_name                  = "${var.name_prefix}-${local.worker_services[each.key]}"
  role_name                      = "${var.global_name_prefix}-${local.worker_services[each.key]}"
  live_alias                     = try(var.live_aliases[each.key], {})
  description                    = local.worker_descriptions[each.key]
  package_path                   = local.worker_settings[each.key].package_path
  package_base64sha256           = local.worker_settings[each.key].package_base64sha256
  handler                        = "lambdas.${each.key}.handler.lambda_handler"
  runtime                        = var.runtime
  architecture                   = var.architecture
  memory_size                    = local.worker_settings[each.key].memory_size
  timeout                        = local.worker_settings[each.key].timeout
  reserved_concurrent_executions = local.worker_settings[each.key].reserved_concurrent_executions
  layers                         = var.layers
  log_retention_in_days          = var.log_retention_in_days
  tags                           = var.tags
  policy_statements              = local.worker_statements[each.key]

  environment_variables = merge(local.worker_environment[each.key], {
    POWERTOOLS_SERVICE_NAME      = local.worker_services[each.key]
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    LOG_LEVEL                    = var.log_level
  })
}

resource "aws_lambda_function_event_invoke_config" "worker" {
  for_each = local.worker_names

  # Settings apply per qualifier, and the dispatcher invokes the alias.
  function_name                = module.worker[each.key].function_name
  qualifier                    = module.worker[each.key].alias_name
  maximum_retry_attempts       = local.worker_settings[each.key].maximum_retry_attempts
  maximum_event_age_in_seconds = local.worker_settings[each.key].maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.worker_failures[each.key].arn
    }
  }
}

# The device-state worker's addresses before the workers shared these blocks.
moved {
  from = module.device_state
  to   = module.worker["device_state"]
}

moved {
  from = aws_lambda_function_event_invoke_config.device_state
  to   = aws_lambda_function_event_invoke_config.worker["device_state"]
}
