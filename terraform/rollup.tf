# Minute totals: the rollup function reads the aggregates table's own stream and, for
# every partial written, merges all partials of that device-minute (each reading counted
# once) and writes its totals back as T#<minute> items (lambdas/rollup); the losing
# versions of conflicting readings go to the quarantine table. Built only when its
# package is given (rollup_package_path).

locals {
  rollup_name    = "${var.prefix}-rollup"
  rollup_enabled = var.rollup_package_path != null
}

module "rollup" {
  source = "./modules/consumer"
  count  = local.rollup_enabled ? 1 : 0

  function_name                  = local.rollup_name
  role_name                      = "${local.global_name_prefix}-rollup"
  live_alias                     = try(var.live_aliases["rollup"], {})
  description                    = "Recomputes per-minute totals from the partial aggregates on the table's stream"
  package_path                   = var.rollup_package_path
  package_base64sha256           = var.rollup_package_base64sha256
  handler                        = "lambdas.rollup.handler.lambda_handler"
  runtime                        = var.lambda_runtime
  architecture                   = var.lambda_architecture
  memory_size                    = var.rollup.memory_size
  timeout                        = var.rollup.timeout
  reserved_concurrent_executions = var.rollup.reserved_concurrent_executions
  layers                         = local.dependency_layers
  log_retention_in_days          = var.log_retention_in_days

  environment_variables = merge({
    AGGREGATES_TABLE             = module.storage.table_name
    MINUTE_RETENTION_DAYS        = tostring(var.aggregates_retention_days.minute)
    POWERTOOLS_SERVICE_NAME      = "rollup"
    POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
    LOG_LEVEL                    = var.log_level
  }, local.quarantine_writer_environment)

  # The table's stream and items are encrypted with the table key: DynamoDB decrypts
  # it with this role's permissions, for the poller's GetRecords and for the code's
  # Query and BatchWriteItem alike; conflict losers are batch-written to the quarantine
  # table, under its own key.
  event_source_type           = "dynamodb"
  event_source_arn            = module.storage.stream_arn
  event_source_kms_key_arns   = [module.storage.kms_key_arn]
  dynamodb_write_table_arns   = concat([module.storage.table_arn], local.quarantine_writer_table_arns)
  dynamodb_table_kms_key_arns = concat([module.storage.kms_key_arn], local.quarantine_writer_kms_key_arns)
  on_failure_queue_arn        = module.stream.failure_queue_arn

  # The recomputation reads one minute's partials with a consistent Query; in the same
  # policy as the mapping's permissions, so it exists before the mapping starts.
  extra_policy_statements = [{
    sid       = "QueryPartials"
    actions   = ["dynamodb:Query"]
    resources = [module.storage.table_arn]
  }]

  # Only partials are the rollup's input: the totals and pending-hour markers it writes
  # back, the scheduled rollup's roll-ups and every REMOVE (TTL expiry included, whose
  # userIdentity is the DynamoDB service) are dropped by Lambda and never invoke it. The
  # handler still ignores them (lambdas/rollup/logic.py touched_minute): defence in depth.
  filter_patterns = [jsonencode({
    eventName = ["INSERT", "MODIFY"]
    dynamodb = {
      Keys     = { SK = { S = [{ prefix = "P#" }] } }
      NewImage = { kind = { S = ["partial"] } }
    }
  })]

  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.rollup.batch_size
  maximum_batching_window_in_seconds = var.rollup.maximum_batching_window_in_seconds
  # 1 keeps every partial of a series (one partition key) on one poller in order, so two
  # invocations never race to write the same total.
  parallelization_factor         = 1
  bisect_batch_on_function_error = true
  function_response_types        = ["ReportBatchItemFailures"]
  maximum_retry_attempts         = var.rollup.maximum_retry_attempts
  maximum_record_age_in_seconds  = var.rollup.maximum_record_age_in_seconds
}
