output "function_name" {
  description = "Name of the Lambda function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = module.function.function_arn
}

output "alias_arn" {
  description = "ARN of the function's `live` alias (what the mapping invokes)."
  value       = module.function.alias_arn
}

output "live_version" {
  description = "The published version the `live` alias points to."
  value       = module.function.live_version
}

output "role_name" {
  description = "Name of the function's execution role (attach extra policies to it)."
  value       = module.function.role_name
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.function.role_arn
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = module.function.log_group_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "event_source_mapping" {
  description = "Settings of the event source mapping as applied (for assertions and for tools that document the deployment)."
  value = {
    uuid                               = aws_lambda_event_source_mapping.this.uuid
    event_source_arn                   = aws_lambda_event_source_mapping.this.event_source_arn
    starting_position                  = aws_lambda_event_source_mapping.this.starting_position
    batch_size                         = aws_lambda_event_source_mapping.this.batch_size
    maximum_batching_window_in_seconds = aws_lambda_event_source_mapping.this.maximum_batching_window_in_seconds
    parallelization_factor             = aws_lambda_event_source_mapping.this.parallelization_factor
    tumbling_window_in_seconds         = aws_lambda_event_source_mapping.this.tumbling_window_in_seconds
    bisect_batch_on_function_error     = aws_lambda_event_source_mapping.this.bisect_batch_on_function_error
    function_response_types            = aws_lambda_event_source_mapping.this.function_response_types
    maximum_retry_attempts             = aws_lambda_event_source_mapping.this.maximum_retry_attempts
    maximum_record_age_in_seconds      = aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds
    on_failure_destination_arn         = one(aws_lambda_event_source_mapping.this.destination_config[0].on_failure[*].destination_arn)
    filter_patterns                    = flatten([for criteria in aws_lambda_event_source_mapping.this.filter_criteria : [for filter in criteria.filter : filter.pattern]])
  }
}

output "policy_statements" {
  description = "The statements of the function's access policy (event source, keys, tables, failure queue, extra statements)."
  value       = module.function.policy_statements
}

output "settings" {
  description = "Settings of the function as applied (modules/function's settings)."
  value       = module.function.settings
}

output "stream_consumer_arn" {
  description = "ARN of the enhanced fan-out consumer the mapping reads through; null with shared throughput."
  value       = one(aws_kinesis_stream_consumer.this[*].arn)
}
