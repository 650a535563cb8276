# The pipeline's health at a glance: every alarm's state, then the metrics behind them.

locals {
  region = data.aws_region.current.name
  metric_widgets = [
    { title = "Invocations and errors", metrics = flatten([for name in var.function_names : [
      ["AWS/Lambda", "Invocations", "FunctionName", name, { stat = "Sum" }],
      ["AWS/Lambda", "Errors", "FunctionName", name, { stat = "Sum" }],
    ]]) },
    { title = "Throttles", metrics = [for name in var.function_names :
    ["AWS/Lambda", "Throttles", "FunctionName", name, { stat = "Sum" }]] },
    { title = "Iterator age (ms)", metrics = [for name in var.stream_function_names :
    ["AWS/Lambda", "IteratorAge", "FunctionName", name, { stat = "Maximum" }]] },
    { title = "Failure queues (messages visible)", metrics = [for queue in values(var.failure_queue_names) :
    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, { stat = "Maximum" }]] },
    { title = "Quarantine and failed batch heads", metrics = concat(
      [["${var.metrics_namespace}", "BatchHeadFailed", "service", var.aggregator_service, { stat = "Sum" }]],
      [for service in var.quarantine_services :
      ["${var.metrics_namespace}", "RecordsQuarantined", "service", service, { stat = "Sum" }]],
    ) },
    { title = "Throttled writes", metrics = concat(
      [["AWS/Kinesis", "WriteProvisionedThroughputExceeded", "StreamName", var.stream_name, { stat = "Sum" }]],
      [for table in var.table_names : ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", table, { stat = "Sum" }]],
    ) },
  ]
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = "${var.name_prefix}-pipeline"
  dashboard_body = jsonencode({
    widgets = concat(
      [{
        type = "alarm", x = 0, y = 0, width = 24, height = 6
        properties = {
          title  = "Alarms"
          alarms = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.arn]
        }
      }],
      [for index, widget in local.metric_widgets : {
        type = "metric", x = (index % 2) * 12, y = 6 + floor(index / 2) * 6, width = 12, height = 6
        properties = {
          title   = widget.title, region = local.region, period = local.period, view = "timeSeries"
          metrics = widget.metrics
        }
      }],
    )
  })
}
