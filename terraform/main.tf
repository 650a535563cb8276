data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # IAM names are global to the account (not per region): they carry the environment, so
  # several environments can share one account. Regional names keep <prefix>-<name>.
  global_name_prefix = "${var.prefix}-${var.environment}"
  # CloudWatch metrics namespace of every function (Powertools).
  metrics_namespace = "${var.prefix}/${var.environment}"
  # kms:ViaService of the requests DynamoDB and Kinesis make to KMS for their callers.
  dynamodb_via_service = "dynamodb.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
  kinesis_via_service  = "kinesis.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"

  stream_name        = "${var.prefix}-telemetry"
  failure_queue_name = "${var.prefix}-stream-failures"
  aggregates_table   = "${var.prefix}-aggregates"
  aggregator_name    = "${var.prefix}-aggregator"
  # HOUR_INDEX_NAME in lambdas/shared/aggregates.py.
  hour_index_name = "by_hour"
}

module "stream" {
  source = "./modules/stream"

  stream_name                 = local.stream_name
  stream_mode                 = var.stream_mode
  shard_count                 = var.shard_count
  retention_hours             = var.stream_retention_hours
  kms_deletion_window_in_days = var.kms_deletion_window_in_days
  failure_queue_name          = local.failure_queue_name
}

module "storage" {
  source = "./modules/storage"

  table_name                  = local.aggregates_table
  deletion_protection_enabled = var.aggregates_table_deletion_protection
  kms_deletion_window_in_days = var.kms_deletion_window_in_days
  # The stream's only consumer, the rollup, reads new images (the NewImage of partials,
  # which its filter also matches on); old images would only make every record larger.
  stream_view_type = "NEW_IMAGE"

  # Minute totals by hour, for the scheduled rollup (lambdas/shared/aggregates.py: only
  # totals carry GSI1PK/GSI1SK, so the index is sparse). It projects what a roll-up
  # reads, not whole items (``sites``: the per-site shares of a minute whose readings came
  # from more than one site; ``expires_at``, so that an expired total is filtered out).
  global_secondary_indexes = [{
    name               = local.hour_index_name
    hash_key           = "GSI1PK"
    range_key          = "GSI1SK"
    projection_type    = "INCLUDE"
    non_key_attributes = ["kind", "device_id", "site", "sites", "metric", "bucket", "count", "sum", "min", "max", "sumsq", "expires_at"]
  }]
}

module "aggregator" {
  source = "./modules/consumer"

  function_name                  = local.aggregator_name
  role_name                      = "${local.global_name_prefix}-aggregator"
  live_alias                     = try(var.live_aliases["aggregator"], {})
  description                    = "Aggregates telemetry into per-device tumbling-window partials"
  package_path                   = var.aggregator_package_path
  package_base64sha256           = var.aggregator_package_base64sha256
  handler                        = "lambdas.aggregator.handler.lambda_handler"
  runtime                        = var.lambda_runtime
  architecture                   = var.lambda_architecture
  memory_size                    = var.aggregator.memory_size
  timeout                        = var.aggregator.timeout
  reserved_concurrent_executions = var.aggregator.reserved_concurrent_executions
  layers                         = local.dependency_layers
  log_retention_in_days          = var.log_retention_in_days

  environment_variables = merge({
    AGGREGATES_TABLE             = module.storage.table_name
    MINUTE_RETENTION_DAYS        = tostring(var.aggregates_retention_days.minute)
    POWERTOOLS_SERVICE_NAME      = "aggregator"
    POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
    LOG_LEVEL                    = var.log_level
  }, local.quarantine_writer_environment)

  event_source_type = "kinesis"
  event_source_arn  = module.stream.stream_arn
  # Reads the stream (its key through Kinesis), batch-writes partials and quarantined
  # records (the tables' keys through DynamoDB), and its mapping sends failed batches to
  # the failure queue (SSE-SQS: no key of ours).
  event_source_kms_key_arns   = [module.stream.kms_key_arn]
  dynamodb_write_table_arns   = concat([module.storage.table_arn], local.quarantine_writer_table_arns)
  dynamodb_table_kms_key_arns = concat([module.storage.kms_key_arn], local.quarantine_writer_kms_key_arns)
  on_failure_queue_arn        = module.stream.failure_queue_arn

  starting_position                  = var.aggregator.starting_position
  starting_position_timestamp        = var.aggregator.starting_position_timestamp
  batch_size                         = var.aggregator.batch_size
  maximum_batching_window_in_seconds = var.aggregator.maximum_batching_window_in_seconds
  parallelization_factor             = var.aggregator.parallelization_factor
  tumbling_window_in_seconds         = var.aggregator.tumbling_window_in_seconds
  bisect_batch_on_function_error     = var.aggregator.bisect_batch_on_function_error
  function_response_types            = ["ReportBatchItemFailures"]
  maximum_retry_attempts             = var.aggregator.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.aggregator.maximum_record_age_in_seconds
}
