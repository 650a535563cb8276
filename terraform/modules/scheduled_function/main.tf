# A Lambda function run on an EventBridge schedule: the function (log group, role, logs
# and tracing permissions, and the access policy of the caller's statements) from
# modules/function, the rule, the target and the permission that lets EventBridge invoke
# it. The caller writes the least-privilege statements, since only it knows the
# resources (this module knows none).

module "function" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable; a five-minutely job's logs default to 30 days.
  #checkov:skip=CKV_AWS_117:Reaches only DynamoDB over its public endpoint; no VPC resources to protect.
  #checkov:skip=CKV_AWS_116:Invoked by a schedule; the work of a failed run stays recorded (the job's own state, e.g. pending markers) and the next run redoes it, so no event is worth keeping in a DLQ.
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
  policy_statements              = var.policy_statements
}

# EventBridge invokes its Lambda targets asynchronously: these are that invocation's
# retries and maximum event age.
resource "aws_lambda_function_event_invoke_config" "this" {
  # Settings apply per qualifier: the schedule invokes the alias, so they are the alias's.
  function_name                = module.function.function_name
  qualifier                    = module.function.alias_name
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
  arn       = module.function.alias_arn
}

# Only this rule may invoke the function through EventBridge.
resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  qualifier     = module.function.alias_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}
