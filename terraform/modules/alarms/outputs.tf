output "topic_arn" {
  description = "ARN of the SNS topic every alarm notifies (subscribe on-call here)."
  value       = aws_sns_topic.alarms.arn
}

output "topic_kms_key_arn" {
  description = "ARN of the customer managed key encrypting the alarm topic."
  value       = module.key.arn
}

output "alarm_names" {
  description = "Alarm names by concern and resource (e.g. depth-stream_failures)."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "dashboard_name" {
  description = "Name of the pipeline's CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.pipeline.dashboard_name
}
