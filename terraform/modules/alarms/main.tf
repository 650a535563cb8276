# One metric alarm per (concern, resource), all notifying the alarm topic on ALARM and
# back on OK. Missing data is chosen per concern (`missing` in each entry), with the reason:
#
# * notBreaching — Lambda publishes Errors, Throttles and IteratorAge only for minutes with
#   invocations; the functions' EMF metrics exist only when an invocation emits them;
#   Kinesis publishes WriteProvisionedThroughputExceeded only while the stream is written;
#   SQS stops publishing a queue's metrics only when it is empty and inactive. No data
#   means nothing went wrong, so silence returns the alarm to OK.
# * ignore — AWS/DynamoDB alarms always ignore missing data whatever is set (CloudWatch's
#   PutMetricAlarm reference); saying so keeps the plan honest about the behaviour.

locals {
  period     = var.thresholds.period_seconds
  evaluation = var.thresholds.evaluation_periods

  function_alarms = merge(
    { for name in var.function_names : "errors-${name}" => {
      namespace   = "AWS/Lambda", metric = "Errors", statistic = "Sum"
      dimensions  = { FunctionName = name }, threshold = var.thresholds.function_errors
      missing     = "notBreaching"
      description = "Function errors of ${name} (a failed batch is retried, bisected, then sent to its failure destination)."
    } },
    { for name in var.function_names : "throttles-${name}" => {
      namespace   = "AWS/Lambda", metric = "Throttles", statistic = "Sum"
      dimensions  = { FunctionName = name }, threshold = var.thresholds.function_throttles
      missing     = "notBreaching"
      description = "Throttled invocations of ${name} (reserved or account concurrency exhausted)."
    } },
    { for name in var.stream_function_names : "iterator-age-${name}" => {
      namespace   = "AWS/Lambda", metric = "IteratorAge", statistic = "Maximum"
      dimensions  = { FunctionName = name }, threshold = var.thresholds.iterator_age_ms
      missing     = "notBreaching"
      description = "${name} is behind its stream: the last record of a batch was older than the threshold (ms)."
    } },
  )

  queue_alarms = { for key, queue in var.failure_queue_names : "depth-${key}" => {
    namespace   = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible", statistic = "Maximum"
    dimensions  = { QueueName = queue }, threshold = var.thresholds.failure_queue_depth
    missing     = "notBreaching"
    description = "Failed work waits in ${queue}: inspect it, then `shardline dlq replay`."
  } }

  shardline_alarms = merge(
    {
      "batch-head-failed" = {
        namespace   = var.metrics_namespace, metric = "BatchHeadFailed", statistic = "Sum"
        dimensions  = { service = var.aggregator_service }, threshold = var.thresholds.batch_head_failed
        missing     = "notBreaching"
        description = "The aggregator failed whole batches because their first record failed."
      }
    },
    { for service in var.quarantine_services : "quarantine-growth-${service}" => {
      namespace   = var.metrics_namespace, metric = "RecordsQuarantined", statistic = "Sum"
      dimensions  = { service = service }, threshold = var.thresholds.records_quarantined
      missing     = "notBreaching"
      description = "${service} quarantined more records than usual: `shardline quarantine list`."
    } },
    { for service in var.quarantine_services : "quarantine-write-failed-${service}" => {
      namespace   = var.metrics_namespace, metric = "QuarantineWriteFailed", statistic = "Sum"
      dimensions  = { service = service }, threshold = var.thresholds.quarantine_write_failed
      missing     = "notBreaching"
      description = "${service} could not write rejected records to the quarantine table."
    } },
  )

  storage_alarms = merge(
    { for pair in setproduct(var.table_names, ["ReadThrottleEvents", "WriteThrottleEvents"]) :
      "${lower(pair[1])}-${pair[0]}" => {
        namespace   = "AWS/DynamoDB", metric = pair[1], statistic = "Sum"
        dimensions  = { TableName = pair[0] }, threshold = var.thresholds.dynamodb_throttles
        missing     = "ignore"
        description = "DynamoDB throttled requests to ${pair[0]} (${pair[1]})."
    } },
    {
      "kinesis-write-throttled" = {
        namespace   = "AWS/Kinesis", metric = "WriteProvisionedThroughputExceeded", statistic = "Sum"
        dimensions  = { StreamName = var.stream_name }, threshold = var.thresholds.kinesis_write_throttles
        missing     = "notBreaching"
        description = "Producers' records rejected by ${var.stream_name} for exceeding shard write throughput."
      }
    },
  )

  alarms = merge(local.function_alarms, local.queue_alarms, local.shardline_alarms, local.storage_alarms)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = local.period
  evaluation_periods  = local.evaluation
  datapoints_to_alarm = local.evaluation
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = each.value.missing
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}
