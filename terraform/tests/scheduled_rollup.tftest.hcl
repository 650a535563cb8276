# Plan-only tests of the scheduled rollup in the root module (schedule, target, least
# privilege, the by_hour index), with a mocked AWS provider. Needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  aggregator_package_path               = "aggregator.zip"
  aggregator_package_base64sha256       = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  rollup_package_path                   = "rollup.zip"
  rollup_package_base64sha256           = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  scheduled_rollup_package_path         = "scheduled_rollup.zip"
  scheduled_rollup_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  # A dependencies layer built elsewhere (plan fails without one; see layers.tf).
  dependencies_layer_arns = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
}

run "the_schedule_runs_the_scheduled_rollup_every_5_minutes" {
  command = plan

  assert {
    condition     = module.scheduled_rollup[0].schedule.schedule_expression == "rate(5 minutes)" && module.scheduled_rollup[0].schedule.state == "ENABLED"
    error_message = "The scheduled rollup must run on rate(5 minutes) by default."
  }

  assert {
    condition     = module.scheduled_rollup[0].schedule.target_arn == "${output.scheduled_rollup_function_arn}:live"
    error_message = "The rule's target must be the scheduled-rollup function's live alias."
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
      for statement in module.scheduled_rollup[0].policy_statements : statement.sid => {
        actions    = toset(statement.actions)
        resources  = toset(statement.resources)
        conditions = [for condition in statement.conditions : [condition.test, condition.variable, toset(condition.values)]]
      }
      } == {
      QueryMarkersAndHourIndex = {
        actions = toset(["dynamodb:Query"])
        resources = toset([
          "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates",
          "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/index/by_hour",
        ])
        conditions = []
      }
      BatchWriteRollups = {
        actions    = toset(["dynamodb:BatchWriteItem"])
        resources  = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"])
        conditions = []
      }
      TakeRunLease = {
        actions    = toset(["dynamodb:PutItem"])
        resources  = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"])
        conditions = [["ForAllValues:StringEquals", "dynamodb:LeadingKeys", toset(["RU#LEASE"])]]
      }
      DeleteMarkersAndLease = {
        actions    = toset(["dynamodb:DeleteItem"])
        resources  = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"])
        conditions = [["ForAllValues:StringLike", "dynamodb:LeadingKeys", toset(["RU#PENDING", "RU#PENDING#*", "RU#LEASE"])]]
      }
      DecryptTableThroughDynamoDB = {
        actions    = toset(["kms:Decrypt"])
        resources  = toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000b"])
        conditions = [["StringEquals", "kms:ViaService", toset(["dynamodb.us-east-1.amazonaws.com"])]]
      }
    }
    error_message = "The scheduled rollup may only Query the table and its by_hour index, batch-write roll-ups, put its lease, delete markers and its lease, and decrypt the table key through DynamoDB."
  }
}

run "overlapping_runs_do_not_need_reserved_concurrency" {
  command = plan

  # The lease item keeps runs apart (lambdas/scheduled_rollup); accounts whose concurrency
  # quota cannot spare a reservation must still deploy it.
  assert {
    condition     = module.scheduled_rollup[0].settings.reserved_concurrent_executions == -1
    error_message = "The scheduled rollup must not reserve concurrency by default."
  }
}

run "the_settings_reach_the_function" {
  command = plan

  variables {
    scheduled_rollup = {
      settle_seconds      = 0
      schedule_expression = "rate(1 hour)"
    }
  }

  assert {
    condition     = module.scheduled_rollup[0].schedule.schedule_expression == "rate(1 hour)"
    error_message = "scheduled_rollup.schedule_expression must be passed through."
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
    scheduled_rollup = {
      settle_seconds    = -1
      max_hours_per_run = 0
    }
  }

  # Both rules of the object fail; the schedule and function settings are validated by
  # modules/scheduled_function and modules/function (their own tests).
  expect_failures = [var.scheduled_rollup]
}

run "zero_reserved_concurrency_is_refused" {
  command = plan

  variables {
    scheduled_rollup = {
      reserved_concurrent_executions = 0
    }
  }

  # 0 would throttle every scheduled run: the roll-ups would silently stop.
  expect_failures = [var.scheduled_rollup]
}
