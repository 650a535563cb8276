# Roll-ups: an EventBridge schedule runs the scheduled rollup (lambdas/scheduled_rollup),
# which recomputes the 5-minute and hourly roll-ups per device, per site and for the fleet
# of every hour the stream rollup marked pending, from the minute totals in the table's
# by_hour index. Built only when its package is given (scheduled_rollup_package_path).

locals {
  scheduled_rollup_name    = "${var.prefix}-scheduled-rollup"
  scheduled_rollup_enabled = var.scheduled_rollup_package_path != null
  # RU#PENDING: the partition of the pending-hour markers (lambdas/shared/aggregates.py).
  pending_markers_key = "RU#PENDING"
}

module "scheduled_rollup" {
  source = "./modules/scheduled_function"
  count  = local.scheduled_rollup_enabled ? 1 : 0

  function_name                  = local.scheduled_rollup_name
  description                    = "Recomputes 5-minute and hourly device, site and fleet roll-ups of the hours marked pending"
  package_path                   = var.scheduled_rollup_package_path
  package_base64sha256           = var.scheduled_rollup_package_base64sha256
  handler                        = "lambdas.scheduled_rollup.handler.lambda_handler"
  memory_size                    = var.scheduled_rollup_memory_size
  timeout                        = var.scheduled_rollup_timeout
  reserved_concurrent_executions = var.scheduled_rollup_reserved_concurrent_executions
  layers                         = local.aggregator_layers
  log_retention_in_days          = var.log_retention_in_days

  environment_variables = {
    AGGREGATES_TABLE             = module.storage.table_name
    SETTLE_SECONDS               = tostring(var.scheduled_rollup_settle_seconds)
    MAX_HOURS_PER_RUN            = tostring(var.scheduled_rollup_max_hours_per_run)
    POWERTOOLS_SERVICE_NAME      = "scheduled-rollup"
    POWERTOOLS_METRICS_NAMESPACE = "shardline"
    LOG_LEVEL                    = var.log_level
  }

  # The table key is used only through DynamoDB (storage module): no KMS permissions.
  access_policy_json = data.aws_iam_policy_document.scheduled_rollup_access[0].json

  schedule_expression = var.scheduled_rollup_schedule_expression
  # A failed run leaves its hours marked; the next scheduled run redoes them.
  maximum_retry_attempts = 0
}

data "aws_iam_policy_document" "scheduled_rollup_access" {
  count = local.scheduled_rollup_enabled ? 1 : 0

  # Markers (consistent Query on the table) and an hour's totals (Query on the index).
  statement {
    sid       = "QueryMarkersAndHourIndex"
    actions   = ["dynamodb:Query"]
    resources = [module.storage.table_arn, module.storage.index_arns[local.hour_index_name]]
  }

  # Roll-ups: whole-item puts through the shared batch_write helper.
  statement {
    sid       = "WriteRollups"
    actions   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
    resources = [module.storage.table_arn]
  }

  # Deletes are for processed markers only: nothing else in the table may be deleted.
  statement {
    sid       = "DeletePendingMarkers"
    actions   = ["dynamodb:DeleteItem"]
    resources = [module.storage.table_arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [local.pending_markers_key]
    }
  }
}
