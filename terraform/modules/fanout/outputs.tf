output "consumer_arn" {
  description = "ARN of the enhanced fan-out consumer the dispatcher reads through."
  value       = module.dispatcher.stream_consumer_arn
}

output "dispatcher_function_name" {
  description = "Name of the dispatcher function."
  value       = module.dispatcher.function_name
}

output "dispatcher_function_arn" {
  description = "ARN of the dispatcher function."
  value       = module.dispatcher.function_arn
}

output "dispatcher_event_source_mapping" {
  description = "Settings of the dispatcher's mapping as applied."
  value       = module.dispatcher.event_source_mapping
}

output "dispatcher_policy_statements" {
  description = "Statements of the dispatcher's access policy."
  value       = module.dispatcher.policy_statements
}

output "dispatcher_environment" {
  description = "The dispatcher's routing configuration (WORKERS and ROUTES as JSON)."
  value       = { workers = jsonencode(local.workers), routes = jsonencode(var.routes) }
}

output "device_state_function_name" {
  description = "Name of the device-state worker."
  value       = module.worker["device_state"].function_name
}

output "device_state_function_arn" {
  description = "ARN of the device-state worker."
  value       = module.worker["device_state"].function_arn
}

output "device_state_policy_statements" {
  description = "Statements of the device-state worker's access policy."
  value       = module.worker["device_state"].policy_statements
}

output "device_state_table_name" {
  description = "Name of the device-state table."
  value       = module.device_state_storage.table_name
}

output "device_state_table_arn" {
  description = "ARN of the device-state table."
  value       = module.device_state_storage.table_arn
}

output "device_state_table_kms_key_arn" {
  description = "KMS key of the device-state table (readers need kms:Decrypt through DynamoDB)."
  value       = module.device_state_storage.kms_key_arn
}

output "device_offline_after_seconds" {
  description = "A device silent for longer than this is offline (computed when the state is read)."
  value       = var.device_state.offline_after_seconds
}

output "worker_failure_queues" {
  description = "Each worker's async on-failure queue: logical name -> {name, url, arn}."
  value = { for name, queue in aws_sqs_queue.worker_failures : name => {
    name = queue.name
    url  = queue.url
    arn  = queue.arn
  } }
}

output "worker_event_invoke_configs" {
  description = "Each worker's async invoke settings as applied."
  value = { for name, config in aws_lambda_function_event_invoke_config.worker : name => {
    maximum_retry_attempts       = config.maximum_retry_attempts
    maximum_event_age_in_seconds = config.maximum_event_age_in_seconds
    on_failure_destination       = one(config.destination_config[0].on_failure[*].destination)
  } }
}
