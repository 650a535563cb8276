# -- alerts --

output "alerts_function_name" {
  description = "Name of the alerts worker."
  value       = module.worker["alerts"].function_name
}

output "alerts_function_arn" {
  description = "ARN of the alerts worker."
  value       = module.worker["alerts"].function_arn
}

output "alerts_policy_statements" {
  description = "Statements of the alerts worker's access policy."
  value       = module.worker["alerts"].policy_statements
}

output "alerts_environment" {
  description = "The alerts worker's environment (ALERT_RULES as JSON, table and topic)."
  value       = module.worker["alerts"].settings.environment_variables
}

output "alert_state_table_name" {
  description = "Name of the alert-state table (PK D#<device>, SK A#<rule>; docs/alerts.md)."
  value       = module.alert_state_storage.table_name
}

output "alert_state_table_arn" {
  description = "ARN of the alert-state table."
  value       = module.alert_state_storage.table_arn
}

output "alert_state_table_kms_key_arn" {
  description = "KMS key of the alert-state table (readers need kms:Decrypt through DynamoDB)."
  value       = module.alert_state_storage.kms_key_arn
}

output "alerts_topic_arn" {
  description = "SNS topic of alerts (SSE with alerts_topic_kms_key_arn); subscribe with filter policies on the device, site, rule, severity and event attributes."
  value       = aws_sns_topic.alerts.arn
}

output "alerts_topic_kms_key_arn" {
  description = "Customer managed key of the alerts topic (publishers need kms:GenerateDataKey* and kms:Decrypt through SNS)."
  value       = module.service_key["alerts_topic"].arn
}

output "alerts_queue_url" {
  description = "SQS queue subscribed to the alerts topic with raw message delivery: each body is an alert's JSON (docs/alerts.md), its attributes are SQS message attributes. SSE-SQS. Read by `shardline alerts`."
  value       = aws_sqs_queue.alerts.url
}

output "alerts_queue_arn" {
  description = "ARN of the alerts queue."
  value       = aws_sqs_queue.alerts.arn
}

output "alerts_queue_policy_statements" {
  description = "Statements of the alerts queue's policy (for assertions)."
  value       = data.aws_iam_policy_document.alerts_queue.statement
}

output "alerts_subscription" {
  description = "The alerts queue's subscription as applied."
  value = {
    topic_arn            = aws_sns_topic_subscription.alerts_queue.topic_arn
    protocol             = aws_sns_topic_subscription.alerts_queue.protocol
    endpoint             = aws_sns_topic_subscription.alerts_queue.endpoint
    raw_message_delivery = aws_sns_topic_subscription.alerts_queue.raw_message_delivery
  }
}

# -- archive --

output "archive_function_name" {
  description = "Name of the archive worker."
  value       = module.worker["archive"].function_name
}

output "archive_function_arn" {
  description = "ARN of the archive worker."
  value       = module.worker["archive"].function_arn
}

output "archive_policy_statements" {
  description = "Statements of the archive worker's access policy."
  value       = module.worker["archive"].policy_statements
}

output "archive_bucket_name" {
  description = "Bucket of the raw archive: <prefix>dt=YYYY-MM-DD/hour=HH/<shard>/<first>_<last>.jsonl.gz (docs/archive.md)."
  value       = aws_s3_bucket.archive.id
}

output "archive_bucket_arn" {
  description = "ARN of the archive bucket."
  value       = aws_s3_bucket.archive.arn
}

output "archive_prefix" {
  description = "Key prefix of the archive's objects (empty or ending with /)."
  value       = var.archive.prefix
}

output "archive_kms_key_arn" {
  description = "Customer managed key of the archive's objects (readers need kms:Decrypt through S3)."
  value       = module.service_key["archive"].arn
}

output "archive_bucket_settings" {
  description = "Encryption, public access, ownership, versioning and lifecycle of the archive bucket as applied (for assertions and audits)."
  value = {
    encryption        = one(aws_s3_bucket_server_side_encryption_configuration.archive.rule[*])
    public_access     = aws_s3_bucket_public_access_block.archive
    object_ownership  = one(aws_s3_bucket_ownership_controls.archive.rule[*].object_ownership)
    versioning_status = one(aws_s3_bucket_versioning.archive.versioning_configuration[*].status)
    lifecycle_rules   = aws_s3_bucket_lifecycle_configuration.archive.rule
    policy_statements = data.aws_iam_policy_document.archive_bucket.statement
  }
}

output "archive_glue_database" {
  description = "Glue catalog database of the archive (Athena)."
  value       = aws_glue_catalog_database.archive.name
}

output "archive_glue_table" {
  description = "Glue table over the archive, with partition projection on dt and hour."
  value       = aws_glue_catalog_table.raw_telemetry.name
}

output "archive_glue_table_parameters" {
  description = "Table parameters of the Glue table (the partition projection)."
  value       = aws_glue_catalog_table.raw_telemetry.parameters
}

output "service_key_policy_statements" {
  description = "Statements of the alerts topic's and the archive's key policies (for assertions)."
  value       = { for name, key in module.service_key : name => key.policy_statements }
}

output "alias_arns" {
  description = "ARN of the `live` alias of the dispatcher and of each worker, by logical name (what the mapping and the dispatcher invoke)."
  value = merge(
    { dispatcher = module.dispatcher.alias_arn },
    { for name, worker in module.worker : name => worker.alias_arn },
  )
}
