output "stream_name" {
  description = "Name of the Kinesis stream."
  value       = aws_kinesis_stream.this.name
}

output "stream_arn" {
  description = "ARN of the Kinesis stream."
  value       = aws_kinesis_stream.this.arn
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the stream (consumers need kms:Decrypt, producers kms:GenerateDataKey on it)."
  value       = module.key.arn
}

output "failure_queue_name" {
  description = "Name of the consumers' on-failure SQS queue."
  value       = aws_sqs_queue.failures.name
}

output "failure_queue_url" {
  description = "URL of the consumers' on-failure SQS queue."
  value       = aws_sqs_queue.failures.url
}

output "failure_queue_arn" {
  description = "ARN of the consumers' on-failure SQS queue."
  value       = aws_sqs_queue.failures.arn
}

output "failure_dlq_url" {
  description = "URL of the dead-letter queue behind the failure queue."
  value       = aws_sqs_queue.failures_dlq.url
}

output "failure_dlq_arn" {
  description = "ARN of the dead-letter queue behind the failure queue."
  value       = aws_sqs_queue.failures_dlq.arn
}

output "failure_queue_sse" {
  description = "Encryption of the failure queue: SSE-SQS (sqs_managed) or the KMS key senders would need kms:GenerateDataKey and kms:Decrypt on."
  value = {
    sqs_managed       = aws_sqs_queue.failures.sqs_managed_sse_enabled
    kms_master_key_id = aws_sqs_queue.failures.kms_master_key_id
  }
}
