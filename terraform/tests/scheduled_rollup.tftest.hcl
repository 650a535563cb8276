# Plan-only tests of the scheduled rollup in the root module (schedule, target, least
# privilege, the by_hour index), with a mocked AWS provider. Needs Terraform >= 1.11.

mock_provider "aws" {
  # Mocked data sources return random strings; these must be JSON or real-looking.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
}

# ARNs are computed by AWS; give them values at plan time so wiring can be compared.

override_resource {
  target          = module.stream.aws_kinesis_stream.this
  override_during = plan
  values = {
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry"
  }
}

override_resource {
  target          = module.stream.aws_sqs_queue.failures
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:shardline-stream-failures"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/shardline-stream-failures"
  }
}

override_resource {
  target          = module.storage.aws_dynamodb_table.this
  override_during = plan
  values = {
    arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/stream/2026-01-01T00:00:00.000"
  }
}

override_resource {
  target          = module.scheduled_rollup[0].module.function.aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-scheduled-rollup"
  }
}

override_resource {
  target          = module.scheduled_rollup[0].aws_cloudwatch_event_rule.this
  override_during = plan
  values = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/shardline-scheduled-rollup"
  }
}

variables {
  aggregator_package_path               = "aggregator.zip"
  aggregator_package_base64sha256       = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  rollup_package_path                   = "rollup.zip"
  rollup_package_base64sha256           = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  scheduled_rollup_package_path         = "scheduled_rollup.zip"
  scheduled_rollup_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
}

run "the_schedule_runs_the_scheduled_rollup_every_5_minutes" {
  command = plan

  assert {
    condition     = module.scheduled_rollup[0].schedule.schedule_expression == "rate(5 minutes)" && module.scheduled_rollup[0].schedule.state == "ENABLED"
    error_message = "The scheduled rollup must run on rate(5 minutes) by default."
  }

  assert {
    condition     = module.scheduled_rollup[0].schedule.target_arn == output.scheduled_rollup_function_arn
    error_message = "The rule's target must be the scheduled-rollup function."
  }

  assert {
    condition     = module.scheduled_rollup[0].schedule.permission_principal == "events.amazonaws.com" && module.scheduled_rollup[0].schedule.permission_source_arn == "arn:aws:events:us-east-1:123456789012:rule/shardline-scheduled-rollup"
    error_message = "Only the rule may invoke the function."
  }

  assert {
    condition     = output.scheduled_rollup_function_name == "shardline-scheduled-rollup" && output.scheduled_rollup_rule_name == "shardline-scheduled-rollup"
    error_message = "The function and its rule are named <prefix>-scheduled-rollup."
  }
}

run "the_scheduled_rollup_role_is_least_privilege" {
  command = plan

  assert {
    condition = {
      for statement in data.aws_iam_policy_document.scheduled_rollup_access[0].statement :
      statement.sid => { actions = statement.actions, resources = statement.resources }
      } == {
      QueryMarkersAndHourIndex = {
        actions = toset(["dynamodb:Query"])
        resources = toset([
          "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates",
          "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/index/by_hour",
        ])
      }
      WriteRollups = {
        actions   = toset(["dynamodb:BatchWriteItem", "dynamodb:PutItem"])
        resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"])
      }
      DeletePendingMarkers = {
        actions   = toset(["dynamodb:DeleteItem"])
        resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"])
      }
    }
    error_message = "The scheduled rollup may only Query the table and its by_hour index, put roll-ups and delete markers."
  }

  assert {
    condition = alltrue([
      for statement in data.aws_iam_policy_document.scheduled_rollup_access[0].statement : (
        length(statement.condition) == 1 &&
        tolist(statement.condition)[0].test == "ForAllValues:StringEquals" &&
        tolist(statement.condition)[0].variable == "dynamodb:LeadingKeys" &&
        toset(tolist(statement.condition)[0].values) == toset(["RU#PENDING"])
      ) if statement.sid == "DeletePendingMarkers"
    ])
    error_message = "Deletes must be limited to the pending-marker partition."
  }
}

run "the_settings_reach_the_function" {
  command = plan

  variables {
    scheduled_rollup_settle_seconds      = 0
    scheduled_rollup_schedule_expression = "rate(1 hour)"
  }

  assert {
    condition     = module.scheduled_rollup[0].schedule.schedule_expression == "rate(1 hour)"
    error_message = "scheduled_rollup_schedule_expression must be passed through."
  }
}

run "the_aggregates_table_indexes_totals_by_hour" {
  command = plan

  assert {
    condition     = output.aggregates_hour_index_name == "by_hour" && module.storage.index_arns["by_hour"] == "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/index/by_hour"
    error_message = "The aggregates table must have the by_hour index."
  }
}

run "no_scheduled_rollup_without_its_package" {
  command = plan

  variables {
    scheduled_rollup_package_path = null
  }

  assert {
    condition     = length(module.scheduled_rollup) == 0 && output.scheduled_rollup_function_name == null && output.scheduled_rollup_rule_name == null
    error_message = "Without scheduled_rollup_package_path no scheduled rollup is deployed."
  }
}

run "scheduled_rollup_settings_are_validated" {
  command = plan

  variables {
    scheduled_rollup_schedule_expression            = "rate(5 minute)"
    scheduled_rollup_settle_seconds                 = -1
    scheduled_rollup_max_hours_per_run              = 0
    scheduled_rollup_reserved_concurrent_executions = 0
  }

  expect_failures = [
    var.scheduled_rollup_schedule_expression,
    var.scheduled_rollup_settle_seconds,
    var.scheduled_rollup_max_hours_per_run,
    var.scheduled_rollup_reserved_concurrent_executions,
  ]
}
