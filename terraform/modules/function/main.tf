# A Lambda function with its own log group and execution role: what every shardline
# function has, whatever invokes it. modules/consumer (an event source mapping) and
# modules/scheduled_function (an EventBridge schedule) wrap it and add their invocation
# and what it needs.
#
# Checkov findings whose reason depends on how the function is invoked and what it
# reaches (CKV_AWS_116 DLQ, CKV_AWS_117 VPC, CKV_AWS_338 log retention) are skipped, with
# that reason, on the wrapper's `module "function"` block; checkov applies a module
# block's skips to the resources inside it.

locals {
  source_code_hash = var.package_base64sha256 != null ? var.package_base64sha256 : filebase64sha256(var.package_path)

  # The handlers' Powertools Tracer records segments only when Lambda traces the
  # invocation (Active); with PassThrough it is switched off, so no environment pays for
  # segments nobody samples. A caller's own setting wins.
  environment_variables = merge(
    var.tracing_mode == "Active" ? {} : { POWERTOOLS_TRACE_DISABLED = "true" },
    var.environment_variables,
  )
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_group_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:Zips are built by `make package` and passed by path and hash; code signing is not set up.
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
  # Each change publishes a version for the `live` alias (alias.tf).
  publish = true
  # -1 leaves the function on the account's unreserved concurrency.
  reserved_concurrent_executions = var.reserved_concurrent_executions == null ? -1 : var.reserved_concurrent_executions

  dynamic "environment" {
    for_each = length(local.environment_variables) > 0 ? [local.environment_variables] : []

    content {
      variables = environment.value
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  # The log group and its write permission must exist before the first invocation,
  # otherwise Lambda would create an unmanaged log group without retention; the access
  # policy before anything (a mapping, a schedule) can invoke the function.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.logs,
    aws_iam_role_policy.access,
  ]
}
