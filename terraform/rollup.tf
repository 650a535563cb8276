# Minute totals: the rollup function reads the aggregates table's own stream and, for
# every partial written, recomputes that (device, metric, minute)'s total from all of its
# partials and writes it back as a T#<minute> item (lambdas/rollup). Built only when its
# package is given (rollup_package_path).

locals {
  rollup_name    = "${var.prefix}-rollup"
  rollup_enabled = var.rollup_package_path != null
}

module "rollup" {
  source = "./modules/consumer"
  count  = local.rollup_enabled ? 1 : 0

  function_name                  = local.rollup_name
  description                    = "Recomputes per-minute totals from the partial aggregates on the table's stream"
  package_path                   = var.rollup_package_path
  package_base64sha256           = var.rollup_package_base64sha256
  handler                        = "lambdas.rollup.handler.lambda_handler"
  memory_size                    = var.rollup_memory_size
  timeout                        = var.rollup_timeout
  reserved_concurrent_executions = var.rollup_reserved_concurrent_executions
  layers                         = local.aggregator_layers
  log_retention_in_days          = var.log_retention_in_days

  environment_variables = {
    AGGREGATES_TABLE             = module.storage.table_name
    POWERTOOLS_SERVICE_NAME      = "rollup"
    POWERTOOLS_METRICS_NAMESPACE = "shardline"
    LOG_LEVEL                    = var.log_level
  }

  # The table key is used only through DynamoDB (storage module): no KMS permissions.
  event_source_type         = "dynamodb"
  event_source_arn          = module.storage.stream_arn
  dynamodb_write_table_arns = [module.storage.table_arn]
  on_failure_queue_arn      = module.stream.failure_queue_arn

  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.rollup_batch_size
  maximum_batching_window_in_seconds = var.rollup_maximum_batching_window_in_seconds
  # 1 keeps every partial of a series (one partition key) on one poller in order, so two
  # invocations never race to write the same total.
  parallelization_factor         = 1
  bisect_batch_on_function_error = true
  function_response_types        = ["ReportBatchItemFailures"]
  maximum_retry_attempts         = var.rollup_maximum_retry_attempts
  maximum_record_age_in_seconds  = var.rollup_maximum_record_age_in_seconds
}

# The recomputation reads one minute's partials with Query; the consumer module grants
# only writes.
data "aws_iam_policy_document" "rollup_read_partials" {
  count = local.rollup_enabled ? 1 : 0

  statement {
    sid       = "QueryPartials"
    actions   = ["dynamodb:Query"]
    resources = [module.storage.table_arn]
  }
}

resource "aws_iam_role_policy" "rollup_read_partials" {
  count = local.rollup_enabled ? 1 : 0

  name   = "dynamodb-query-partials"
  role   = module.rollup[0].role_name
  policy = data.aws_iam_policy_document.rollup_read_partials[0].json
}
