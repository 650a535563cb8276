# Roll-ups: an EventBridge schedule runs the scheduled rollup (lambdas/scheduled_rollup),
# which recomputes the 5-minute and hourly roll-ups per device, per site and for the fleet
# of every hour the stream rollup marked pending, from the minute totals in the table's
# by_hour index. Built only when its package is given (scheduled_rollup_package_path).

locals {
  scheduled_rollup_name    = "${var.prefix}-scheduled-rollup"
  scheduled_rollup_enabled = var.scheduled_rollup_package_path != null
  # RU#PENDING#<n>: the partitions of the pending-hour markers (sharded by device; a
  # pattern, so the shard count lives in lambdas/shared/aggregates.py alone), RU#PENDING
  # the legacy unsharded one, still drained; RU#LEASE: the run lease's.
  pending_markers_keys = ["RU#PENDING", "RU#PENDING#*"]
  run_lease_key        = "RU#LEASE"
}

module "scheduled_rollup" {
  source = "./modules/scheduled_function"
  count  = local.scheduled_rollup_enabled ? 1 : 0

  function_name                  = local.scheduled_rollup_name
  live_alias                     = try(var.live_aliases["scheduled_rollup"], {})
  role_name                      = "${local.global_name_prefix}-scheduled-rollup"
  description                    = "Recomputes 5-minute and hourly device, site and fleet roll-ups of the hours marked pending"
  package_path                   = var.scheduled_rollup_package_path
  package_base64sha256           = var.scheduled_rollup_package_base64sha256
  handler                        = "lambdas.scheduled_rollup.handler.lambda_handler"
  runtime                        = var.lambda_runtime
  architecture                   = var.lambda_architecture
  memory_size                    = var.scheduled_rollup.memory_size
  timeout                        = var.scheduled_rollup.timeout
  reserved_concurrent_executions = var.scheduled_rollup.reserved_concurrent_executions
  layers                         = local.dependency_layers
  log_retention_in_days          = var.log_retention_in_days

  environment_variables = {
    AGGREGATES_TABLE             = module.storage.table_name
    SETTLE_SECONDS               = tostring(var.scheduled_rollup.settle_seconds)
    MAX_HOURS_PER_RUN            = tostring(var.scheduled_rollup.max_hours_per_run)
    MINUTE_RETENTION_DAYS        = tostring(var.aggregates_retention_days.minute)
    ROLLUP_RETENTION_DAYS        = tostring(var.aggregates_retention_days.rollup)
    POWERTOOLS_SERVICE_NAME      = "scheduled-rollup"
    POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
    LOG_LEVEL                    = var.log_level
  }

  policy_statements = local.scheduled_rollup_statements

  schedule_expression = var.scheduled_rollup.schedule_expression
  # A failed run leaves its hours marked; the next scheduled run redoes them.
  maximum_retry_attempts = 0
}

locals {
  scheduled_rollup_statements = [
    # Markers (consistent Query on the table) and an hour's totals (Query on the index).
    {
      sid       = "QueryMarkersAndHourIndex"
      actions   = ["dynamodb:Query"]
      resources = [module.storage.table_arn, module.storage.index_arns[local.hour_index_name]]
    },
    # Roll-ups: whole-item puts through the shared batch writer.
    {
      sid       = "BatchWriteRollups"
      actions   = ["dynamodb:BatchWriteItem"]
      resources = [module.storage.table_arn]
    },
    # The run lease is the only item written with PutItem (a conditional put).
    {
      sid       = "TakeRunLease"
      actions   = ["dynamodb:PutItem"]
      resources = [module.storage.table_arn]
      conditions = [{
        test     = "ForAllValues:StringEquals"
        variable = "dynamodb:LeadingKeys"
        values   = [local.run_lease_key]
      }]
    },
    # Deletes are for processed markers (any shard) and the run's own lease only: nothing
    # else in the table may be deleted.
    {
      sid       = "DeleteMarkersAndLease"
      actions   = ["dynamodb:DeleteItem"]
      resources = [module.storage.table_arn]
      conditions = [{
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = concat(local.pending_markers_keys, [local.run_lease_key])
      }]
    },
    # The table is encrypted with its own key; DynamoDB decrypts it for this role.
    {
      sid       = "DecryptTableThroughDynamoDB"
      actions   = ["kms:Decrypt"]
      resources = [module.storage.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.dynamodb_via_service]
      }]
    },
  ]
}
