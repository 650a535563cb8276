# A Lambda function that consumes a Kinesis or DynamoDB stream: the function (log group,
# role, logs and tracing permissions) from modules/function, the event source mapping,
# and the permissions the mapping and the function's writes need.

module "function" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable; high-volume consumer logs default to 30 days.
  #checkov:skip=CKV_AWS_117:Reaches only Kinesis, DynamoDB and SQS over their public endpoints; no VPC resources to protect.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by its event source mapping, whose on-failure destination is the SQS failure queue; a function DLQ only serves async invokes.
  source = "../function"

  function_name                  = var.function_name
  role_name                      = var.role_name
  description                    = var.description
  package_path                   = var.package_path
  package_base64sha256           = var.package_base64sha256
  handler                        = var.handler
  runtime                        = var.runtime
  architecture                   = var.architecture
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  environment_variables          = var.environment_variables
  reserved_concurrent_executions = var.reserved_concurrent_executions
  tracing_mode                   = var.tracing_mode
  layers                         = var.layers
  log_retention_in_days          = var.log_retention_in_days
  log_group_kms_key_arn          = var.log_group_kms_key_arn
  tags                           = var.tags
  live_alias                     = var.live_alias
  policy_statements              = local.policy_statements
}

locals {
  enhanced_fan_out = var.stream_consumer_name != null
}

# Enhanced fan-out: a consumer registered on the stream, with throughput of its own.
resource "aws_kinesis_stream_consumer" "this" {
  count = local.enhanced_fan_out ? 1 : 0

  name       = var.stream_consumer_name
  stream_arn = var.event_source_arn
}

resource "aws_lambda_event_source_mapping" "this" {
  # The alias: a deploy or rollback moves it and the next batch runs that version.
  function_name = module.function.alias_arn
  # Enhanced fan-out: the mapping names the stream's consumer, not the stream.
  event_source_arn                   = local.enhanced_fan_out ? aws_kinesis_stream_consumer.this[0].arn : var.event_source_arn
  enabled                            = var.event_source_mapping_enabled
  starting_position                  = var.starting_position
  starting_position_timestamp        = var.starting_position == "AT_TIMESTAMP" ? var.starting_position_timestamp : null
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor
  tumbling_window_in_seconds         = var.tumbling_window_in_seconds
  bisect_batch_on_function_error     = var.bisect_batch_on_function_error
  function_response_types            = var.function_response_types
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds

  destination_config {
    on_failure {
      destination_arn = var.on_failure_queue_arn
    }
  }

  # Records no pattern matches are dropped by Lambda (their checkpoint moves on) and
  # never invoke the function.
  dynamic "filter_criteria" {
    for_each = length(var.filter_patterns) > 0 ? [var.filter_patterns] : []
    content {
      dynamic "filter" {
        for_each = filter_criteria.value
        content {
          pattern = filter.value
        }
      }
    }
  }

  # CreateEventSourceMapping checks that the role can read the source and write to
  # the destination: the function (whose creation waits for its access policy) and
  # everything else of the module must be in place first.
  depends_on = [module.function]

  lifecycle {
    precondition {
      condition     = var.tumbling_window_in_seconds == 0 || var.parallelization_factor == 1
      error_message = "parallelization_factor must be 1 when tumbling_window_in_seconds > 0 (AWS rejects the mapping otherwise)."
    }

    precondition {
      condition     = var.starting_position != "AT_TIMESTAMP" || var.starting_position_timestamp != null
      error_message = "starting_position AT_TIMESTAMP needs starting_position_timestamp."
    }

    precondition {
      condition     = !local.enhanced_fan_out || var.event_source_type == "kinesis"
      error_message = "stream_consumer_name (enhanced fan-out) needs a Kinesis stream event source."
    }

    precondition {
      condition     = var.event_source_type == "kinesis" || var.starting_position != "AT_TIMESTAMP"
      error_message = "AT_TIMESTAMP is a Kinesis starting position; DynamoDB streams accept TRIM_HORIZON or LATEST."
    }
  }
}
