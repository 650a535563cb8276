locals {
  source_code_hash = var.package_base64sha256 != null ? var.package_base64sha256 : filebase64sha256(var.package_path)
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable; high-volume consumer logs default to 30 days.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_group_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:Reaches only Kinesis, DynamoDB and SQS over their public endpoints; no VPC resources to protect.
  #checkov:skip=CKV_AWS_272:Zips are built by `make package` and passed by path and hash; code signing is not set up.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by its event source mapping, whose on-failure destination is the SQS failure queue; a function DLQ only serves async invokes.
  #checkov:skip=CKV_AWS_173:The environment holds only resource names and settings, no secrets; Lambda encrypts it at rest with its own key.
  function_name    = var.function_name
  description      = var.description
  role             = aws_iam_role.this.arn
  filename         = var.package_path
  source_code_hash = local.source_code_hash
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  layers           = var.layers
  # -1 leaves the function on the account's unreserved concurrency.
  reserved_concurrent_executions = var.reserved_concurrent_executions == null ? -1 : var.reserved_concurrent_executions

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [var.environment_variables] : []

    content {
      variables = environment.value
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  # The log group and its write permission must exist before the first invocation,
  # otherwise Lambda would create an unmanaged log group without retention.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.logs,
  ]
}

resource "aws_lambda_event_source_mapping" "this" {
  function_name                      = aws_lambda_function.this.arn
  event_source_arn                   = var.event_source_arn
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

  # CreateEventSourceMapping checks that the role can read the source and write to
  # the destination, so every policy must be in place first.
  depends_on = [
    aws_iam_role_policy.event_source,
    aws_iam_role_policy.event_source_kms,
    aws_iam_role_policy.on_failure,
  ]

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
      condition     = var.event_source_type == "kinesis" || var.starting_position != "AT_TIMESTAMP"
      error_message = "AT_TIMESTAMP is a Kinesis starting position; DynamoDB streams accept TRIM_HORIZON or LATEST."
    }
  }
}
