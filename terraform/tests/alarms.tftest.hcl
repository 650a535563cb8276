# Plan-only tests of modules/alarms on its own. Needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

override_resource {
  target          = module.key.aws_kms_key.this
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/alarms"
  }
}

variables {
  name_prefix           = "shardline"
  metrics_namespace     = "shardline/dev"
  function_names        = ["shardline-aggregator", "shardline-rollup"]
  stream_function_names = ["shardline-aggregator", "shardline-rollup"]
  failure_queue_names   = { stream_failures = "shardline-stream-failures" }
  table_names           = ["shardline-aggregates"]
  stream_name           = "shardline-telemetry"
}

run "every_concern_has_its_alarm" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  assert {
    condition = alltrue([for key in [
      "errors-shardline-aggregator", "throttles-shardline-rollup",
      "iterator-age-shardline-rollup", "depth-stream_failures", "batch-head-failed",
      "quarantine-growth-aggregator", "quarantine-write-failed-dispatcher",
      "writethrottleevents-shardline-aggregates", "readthrottleevents-shardline-aggregates",
      "kinesis-write-throttled",
    ] : contains(keys(aws_cloudwatch_metric_alarm.this), key)])
    error_message = "Each concern of the issue must have an alarm per resource."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["depth-stream_failures"].metric_name == "ApproximateNumberOfMessagesVisible" && aws_cloudwatch_metric_alarm.this["depth-stream_failures"].dimensions.QueueName == "shardline-stream-failures"
    error_message = "The failure-queue alarm must watch the queue's visible messages."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["batch-head-failed"].namespace == "shardline/dev" && aws_cloudwatch_metric_alarm.this["batch-head-failed"].dimensions.service == "aggregator"
    error_message = "shardline's own metrics are in its namespace, with Powertools' service dimension."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["writethrottleevents-shardline-aggregates"].treat_missing_data == "ignore" && aws_cloudwatch_metric_alarm.this["errors-shardline-rollup"].treat_missing_data == "notBreaching"
    error_message = "DynamoDB alarms ignore missing data (as AWS always does); Lambda alarms treat silence as healthy."
  }

  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/alarms" && module.key.rotation_enabled
    error_message = "The alarm topic must be encrypted with a rotating customer managed key."
  }

  assert {
    condition = length([
      for statement in module.key.policy_statements : statement
      if statement.sid == "CloudWatchPublishesAlarms" && length([
        for condition in statement.condition : condition
        if(condition.variable == "aws:SourceArn" && condition.test == "ArnLike" && tolist(condition.values) == tolist(["arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"])) ||
        (condition.variable == "aws:SourceAccount" && tolist(condition.values) == tolist(["123456789012"]))
      ]) == 2
    ]) == 1
    error_message = "CloudWatch may use the alarm topic's key only for this account's alarms (aws:SourceArn, aws:SourceAccount)."
  }

  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.period == 60 && alarm.evaluation_periods == 1])
    error_message = "Defaults: one one-minute period."
  }
}

run "sub_minute_periods_are_refused" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  variables {
    thresholds = { period_seconds = 10 }
  }

  expect_failures = [var.thresholds]
}

run "zero_thresholds_are_refused" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  variables {
    thresholds = { failure_queue_depth = 0 }
  }

  expect_failures = [var.thresholds]
}

run "a_day_long_evaluation_range_at_most" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  variables {
    thresholds = { period_seconds = 3600, evaluation_periods = 25 }
  }

  expect_failures = [var.thresholds]
}
