# A Lambda function run on an EventBridge schedule: its log group, the function, the
# rule, the target and the permission that lets EventBridge invoke it. The function part
# mirrors modules/consumer (same runtime, tracing, concurrency and log-group choices).

locals {
  source_code_hash = var.package_base64sha256 != null ? var.package_base64sha256 : filebase64sha256(var.package_path)
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable; a five-minutely job's logs default to 30 days.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_group_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:Reaches only DynamoDB over its public endpoint; no VPC resources to protect.
  #checkov:skip=CKV_AWS_272:Zips are built by `make package` and passed by path and hash; code signing is not set up.
  #checkov:skip=CKV_AWS_116:Invoked by a schedule; the work of a failed run stays recorded (the job's own state, e.g. pending markers) and the next run redoes it, so no event is worth keeping in a DLQ.
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

# EventBridge invokes its Lambda targets asynchronously: these are that invocation's
# retries and maximum event age.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
}

resource "aws_cloudwatch_event_rule" "this" {
  name                = var.function_name
  description         = "Runs ${var.function_name} on ${var.schedule_expression}"
  schedule_expression = var.schedule_expression
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule      = aws_cloudwatch_event_rule.this.name
  target_id = "lambda"
  arn       = aws_lambda_function.this.arn
}

# Only this rule may invoke the function through EventBridge.
resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}
