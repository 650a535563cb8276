output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "alias_arn" {
  description = "ARN of the function's `live` alias: what mappings, schedules and callers invoke."
  value       = aws_lambda_alias.live.arn
}

output "alias_name" {
  description = "Name of the alias callers invoke (function_name:alias_name)."
  value       = aws_lambda_alias.live.name
}

output "version" {
  description = "The latest published version (the one the alias points to unless pinned)."
  value       = aws_lambda_function.this.version
}

output "live_version" {
  description = "The published version the `live` alias points to."
  value       = aws_lambda_alias.live.function_version
}

output "role_name" {
  description = "Name of the function's execution role (attach extra policies to it)."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "settings" {
  description = "Settings of the function as applied (for assertions in the wrappers' tests and for tools that document the deployment)."
  value = {
    handler                        = aws_lambda_function.this.handler
    runtime                        = aws_lambda_function.this.runtime
    architectures                  = aws_lambda_function.this.architectures
    source_code_hash               = aws_lambda_function.this.source_code_hash
    memory_size                    = aws_lambda_function.this.memory_size
    timeout                        = aws_lambda_function.this.timeout
    reserved_concurrent_executions = aws_lambda_function.this.reserved_concurrent_executions
    layers                         = aws_lambda_function.this.layers
    tracing_mode                   = aws_lambda_function.this.tracing_config[0].mode
    log_retention_in_days          = aws_cloudwatch_log_group.this.retention_in_days
    environment_variables          = try(aws_lambda_function.this.environment[0].variables, {})
  }
}

output "policy_statements" {
  description = "The statements of the role's access policy (for assertions, and for tools that compare it with what the code calls)."
  value       = var.policy_statements
}
