output "stream_name" {
  description = "Name of the telemetry Kinesis stream."
  value       = module.stream.stream_name
}

output "stream_arn" {
  description = "ARN of the telemetry Kinesis stream."
  value       = module.stream.stream_arn
}

output "stream_kms_key_arn" {
  description = "ARN of the KMS key of the telemetry stream (producers need kms:GenerateDataKey on it)."
  value       = module.stream.kms_key_arn
}

output "aggregates_table_name" {
  description = "Name of the aggregates DynamoDB table."
  value       = module.storage.table_name
}

output "aggregates_table_kms_key_arn" {
  description = "ARN of the KMS key of the aggregates table and its stream (readers and writers need kms:Decrypt on it through DynamoDB)."
  value       = module.storage.kms_key_arn
}

output "aggregates_table_arn" {
  description = "ARN of the aggregates DynamoDB table."
  value       = module.storage.table_arn
}

output "aggregates_stream_arn" {
  description = "ARN of the aggregates table's DynamoDB stream."
  value       = module.storage.stream_arn
}

output "aggregator_function_name" {
  description = "Name of the aggregator Lambda function."
  value       = module.aggregator.function_name
}

output "aggregator_function_arn" {
  description = "ARN of the aggregator Lambda function."
  value       = module.aggregator.function_arn
}

output "aggregator_event_source_mapping_uuid" {
  description = "UUID of the aggregator's Kinesis event source mapping."
  value       = module.aggregator.event_source_mapping_uuid
}

output "failure_queue_url" {
  description = "URL of the SQS queue that receives on-failure records of the stream consumers."
  value       = module.stream.failure_queue_url
}

output "failure_queue_arn" {
  description = "ARN of the SQS queue that receives on-failure records of the stream consumers."
  value       = module.stream.failure_queue_arn
}

output "failure_dlq_url" {
  description = "URL of the dead-letter queue behind the failure queue."
  value       = module.stream.failure_dlq_url
}

# -- rollups --

output "rollup_function_name" {
  description = "Name of the rollup Lambda function (null when no rollup is deployed)."
  value       = one(module.rollup[*].function_name)
}

output "rollup_function_arn" {
  description = "ARN of the rollup Lambda function (null when no rollup is deployed)."
  value       = one(module.rollup[*].function_arn)
}

output "rollup_event_source_mapping_uuid" {
  description = "UUID of the rollup's event source mapping on the aggregates table's stream (null when no rollup is deployed)."
  value       = one(module.rollup[*].event_source_mapping_uuid)
}

output "aggregates_hour_index_name" {
  description = "Name of the aggregates table's index of minute totals by hour (read by the scheduled rollup)."
  value       = local.hour_index_name
}

# -- scheduled rollup --

output "scheduled_rollup_function_name" {
  description = "Name of the scheduled-rollup Lambda function (null when it is not deployed); `shardline rollup run --function` invokes it."
  value       = one(module.scheduled_rollup[*].function_name)
}

output "scheduled_rollup_function_arn" {
  description = "ARN of the scheduled-rollup Lambda function (null when it is not deployed)."
  value       = one(module.scheduled_rollup[*].function_arn)
}

output "scheduled_rollup_rule_name" {
  description = "Name of the EventBridge rule that runs the scheduled rollup (null when it is not deployed)."
  value       = one(module.scheduled_rollup[*].rule_name)
}

# -- quarantine --

output "quarantine_table_name" {
  description = "Name of the DynamoDB table holding the records the aggregator quarantined."
  value       = module.quarantine_storage.table_name
}

output "quarantine_table_arn" {
  description = "ARN of the quarantine DynamoDB table."
  value       = module.quarantine_storage.table_arn
}

output "quarantine_table_kms_key_arn" {
  description = "ARN of the KMS key of the quarantine table (readers and writers need kms:Decrypt on it through DynamoDB)."
  value       = module.quarantine_storage.kms_key_arn
}

# -- outside users (access.tf) --

output "producer_policy_json" {
  description = "Least-privilege IAM policy (JSON) for producers: PutRecord(s), ListShards and DescribeStreamSummary on the stream, kms:GenerateDataKey on its key through Kinesis."
  value       = data.aws_iam_policy_document.producer.json
}

output "producer_policy_arn" {
  description = "ARN of the managed policy holding producer_policy_json, to attach to producers' users or roles."
  value       = aws_iam_policy.producer.arn
}

output "analyst_policy_json" {
  description = "Least-privilege IAM policy (JSON) for analysts: Query on the aggregates table and its by_hour index, Scan on the quarantine table, kms:Decrypt on both table keys through DynamoDB; with the fanout, reads of the device- and alert-state tables, the alerts queue (receive and release, no delete) and the archive (list, get, decrypt through S3)."
  value       = data.aws_iam_policy_document.analyst.json
}

output "analyst_policy_arn" {
  description = "ARN of the managed policy holding analyst_policy_json, to attach to analysts' users or roles."
  value       = aws_iam_policy.analyst.arn
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the functions' metrics (<prefix>/<environment>)."
  value       = local.metrics_namespace
}

# -- fanout (null when it is not deployed) --

output "fanout_consumer_arn" {
  description = "ARN of the telemetry stream's enhanced fan-out consumer the dispatcher reads through."
  value       = one(module.fanout[*].consumer_arn)
}

output "dispatcher_function_name" {
  description = "Name of the fanout dispatcher function."
  value       = one(module.fanout[*].dispatcher_function_name)
}

output "dispatcher_function_arn" {
  description = "ARN of the fanout dispatcher function."
  value       = one(module.fanout[*].dispatcher_function_arn)
}

output "device_state_function_name" {
  description = "Name of the device-state worker."
  value       = one(module.fanout[*].device_state_function_name)
}

output "device_state_function_arn" {
  description = "ARN of the device-state worker."
  value       = one(module.fanout[*].device_state_function_arn)
}

output "device_state_table_name" {
  description = "Name of the DynamoDB table of latest readings per device (`shardline devices`)."
  value       = one(module.fanout[*].device_state_table_name)
}

output "device_state_table_arn" {
  description = "ARN of the device-state table."
  value       = one(module.fanout[*].device_state_table_arn)
}

output "device_offline_after_seconds" {
  description = "A device silent for longer than this is shown offline by `shardline devices`."
  value       = one(module.fanout[*].device_offline_after_seconds)
}

output "worker_failure_queues" {
  description = "Each fanout worker's async on-failure queue: logical name -> {name, url, arn}."
  value       = one(module.fanout[*].worker_failure_queues)
}

output "alerts_function_name" {
  description = "Name of the alerts worker."
  value       = one(module.fanout[*].alerts_function_name)
}

output "alerts_topic_arn" {
  description = "SNS topic the alerts worker publishes raised and resolved alerts to (SSE-KMS); message attributes device, site, rule, severity, event."
  value       = one(module.fanout[*].alerts_topic_arn)
}

output "alerts_queue_url" {
  description = "SQS queue subscribed to the alerts topic with raw message delivery (bodies are the alerts' JSON, docs/alerts.md; attributes as SQS message attributes); `shardline alerts` reads it."
  value       = one(module.fanout[*].alerts_queue_url)
}

output "alerts_queue_arn" {
  description = "ARN of the alerts queue."
  value       = one(module.fanout[*].alerts_queue_arn)
}

output "alert_state_table_name" {
  description = "Name of the alerts worker's rule-state table."
  value       = one(module.fanout[*].alert_state_table_name)
}

output "archive_function_name" {
  description = "Name of the archive worker."
  value       = one(module.fanout[*].archive_function_name)
}

output "archive_bucket_name" {
  description = "S3 bucket of the raw telemetry archive (gzipped JSON Lines by event date and hour, docs/archive.md)."
  value       = one(module.fanout[*].archive_bucket_name)
}

output "archive_prefix" {
  description = "Key prefix of the archive's objects, before dt=YYYY-MM-DD/hour=HH/."
  value       = one(module.fanout[*].archive_prefix)
}

output "archive_glue_database" {
  description = "Glue catalog database of the archive (query it with Athena)."
  value       = one(module.fanout[*].archive_glue_database)
}

output "archive_glue_table" {
  description = "Glue table over the archive, with partition projection on dt and hour."
  value       = one(module.fanout[*].archive_glue_table)
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies on ALARM and OK (subscribe on-call here)."
  value       = module.alarms.topic_arn
}

output "alarm_names" {
  description = "CloudWatch alarm names by concern and resource (e.g. depth-stream_failures)."
  value       = module.alarms.alarm_names
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the pipeline's health."
  value       = module.alarms.dashboard_name
}

output "function_alias_arns" {
  description = "ARN of every function's `live` alias, by logical name: what mappings, schedules and the dispatcher invoke, and what a deploy or rollback moves (docs/deploys.md)."
  value = merge(
    { aggregator = module.aggregator.alias_arn },
    { for m in module.rollup : "rollup" => m.alias_arn },
    { for m in module.scheduled_rollup : "scheduled_rollup" => m.alias_arn },
    one(module.fanout[*].alias_arns) == null ? {} : one(module.fanout[*].alias_arns),
  )
}
