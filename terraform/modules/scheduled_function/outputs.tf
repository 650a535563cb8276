output "function_name" {
  description = "Name of the Lambda function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = module.function.function_arn
}

output "alias_arn" {
  description = "ARN of the function's `live` alias (what the schedule invokes)."
  value       = module.function.alias_arn
}

output "live_version" {
  description = "The published version the `live` alias points to."
  value       = module.function.live_version
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = module.function.role_name
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = module.function.log_group_name
}

output "rule_name" {
  description = "Name of the EventBridge rule that runs the function."
  value       = aws_cloudwatch_event_rule.this.name
}

output "rule_arn" {
  description = "ARN of the EventBridge rule that runs the function."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "schedule" {
  description = "The schedule as applied: rule, expression, state, target and invoke permission (for assertions and for tools that document the deployment)."
  value = {
    rule_name              = aws_cloudwatch_event_rule.this.name
    schedule_expression    = aws_cloudwatch_event_rule.this.schedule_expression
    state                  = aws_cloudwatch_event_rule.this.state
    target_arn             = aws_cloudwatch_event_target.this.arn
    permission_principal   = aws_lambda_permission.schedule.principal
    permission_source_arn  = aws_lambda_permission.schedule.source_arn
    maximum_retry_attempts = aws_lambda_function_event_invoke_config.this.maximum_retry_attempts
  }
}

output "policy_statements" {
  description = "The statements of the function's access policy."
  value       = module.function.policy_statements
}

output "settings" {
  description = "Settings of the function as applied (modules/function's settings)."
  value       = module.function.settings
}
