# Fanout: an enhanced fan-out consumer on the telemetry stream, the dispatcher mapped to
# it (lambdas/dispatcher), and the worker functions it invokes asynchronously, each with
# its event-invoke config and its own failure queue. Workers: device_state (latest
# readings per device, lambdas/device_state, below), alerts (alerts.tf) and archive
# (archive.tf).

locals {
  dispatcher_name   = "${var.name_prefix}-dispatcher"
  device_state_name = "${var.name_prefix}-device-state"

  # Logical worker name -> the worker's `live` alias (the dispatcher's WORKERS; the routes
  # name these): a deploy or rollback of a worker moves its alias, not this list.
  workers     = { for name, worker in module.worker : name => "${worker.function_name}:${worker.alias_name}" }
  worker_arns = { for name, worker in module.worker : name => worker.alias_arn }
}

module "dispatcher" {
  source = "../consumer"

  function_name                  = local.dispatcher_name
  role_name                      = "${var.global_name_prefix}-dispatcher"
  live_alias                     = try(var.live_aliases["dispatcher"], {})
  description                    = "Routes telemetry from the EFO consumer to worker functions by async Invoke"
  package_path                   = var.dispatcher.package_path
  package_base64sha256           = var.dispatcher.package_base64sha256
  handler                        = "lambdas.dispatcher.handler.lambda_handler"
  runtime                        = var.runtime
  architecture                   = var.architecture
  memory_size                    = var.dispatcher.memory_size
  timeout                        = var.dispatcher.timeout
  reserved_concurrent_executions = var.dispatcher.reserved_concurrent_executions
  layers                         = var.layers
  log_retention_in_days          = var.log_retention_in_days
  tags                           = var.tags

  environment_variables = {
    WORKERS                      = jsonencode(local.workers)
    ROUTES                       = jsonencode(var.routes)
    MAX_PAYLOAD_BYTES            = tostring(var.dispatcher.max_payload_bytes)
    INVOKE_CONCURRENCY           = tostring(var.dispatcher.invoke_concurrency)
    QUARANTINE_TABLE             = var.quarantine.table_name
    QUARANTINE_RETENTION_DAYS    = tostring(var.quarantine.retention_days)
    POWERTOOLS_SERVICE_NAME      = "dispatcher"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    LOG_LEVEL                    = var.log_level
  }

  event_source_type           = "kinesis"
  event_source_arn            = var.stream_arn
  stream_consumer_name        = var.consumer_name
  event_source_kms_key_arns   = [var.stream_kms_key_arn]
  dynamodb_write_table_arns   = [var.quarantine.table_arn]
  dynamodb_table_kms_key_arns = [var.quarantine.kms_key_arn]
  on_failure_queue_arn        = var.stream_failure_queue_arn

  # It may invoke its workers' `live` aliases and nothing else: IAM authorizes an Invoke
  # of a qualified name against the qualified ARN (the alias ARN), which the unqualified
  # function ARN does not match.
  extra_policy_statements = [{
    sid       = "InvokeWorkers"
    actions   = ["lambda:InvokeFunction"]
    resources = values(local.worker_arns)
  }]

  starting_position                  = var.dispatcher.starting_position
  batch_size                         = var.dispatcher.batch_size
  maximum_batching_window_in_seconds = var.dispatcher.maximum_batching_window_in_seconds
  parallelization_factor             = var.dispatcher.parallelization_factor
  bisect_batch_on_function_error     = var.dispatcher.bisect_batch_on_function_error
  function_response_types            = ["ReportBatchItemFailures"]
  maximum_retry_attempts             = var.dispatcher.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.dispatcher.maximum_record_age_in_seconds
}

# Latest reading per device and metric (lambdas/device_state/state.py has the layout).
# Offline is computed at read time from the last-seen time, so nothing consumes a stream
# and no index is needed.
module "device_state_storage" {
  source = "../storage"

  table_name                  = local.device_state_name
  stream_enabled              = false
  deletion_protection_enabled = var.device_state.table_deletion_protection
  kms_deletion_window_in_days = var.kms_deletion_window_in_days
  tags                        = var.tags
}
