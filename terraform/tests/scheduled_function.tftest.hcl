# Plan-only tests of modules/scheduled_function on its own: the schedule, its target and
# invoke permission, and the access policy; the function itself (log group, logs and
# tracing policies) is tested in function.tftest.hcl. Needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

override_resource {
  target          = module.function.aws_cloudwatch_log_group.this
  override_during = plan
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/shardline-scheduled-rollup"
  }
}

override_resource {
  target          = module.function.aws_lambda_alias.live
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-scheduled-rollup:live"
  }
}

override_resource {
  target          = module.function.aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-scheduled-rollup"
  }
}

override_resource {
  target          = aws_cloudwatch_event_rule.this
  override_during = plan
  values = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/shardline-scheduled-rollup"
  }
}

variables {
  function_name        = "shardline-scheduled-rollup"
  package_path         = "scheduled_rollup.zip"
  package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  handler              = "lambdas.scheduled_rollup.handler.lambda_handler"
  schedule_expression  = "rate(5 minutes)"
  policy_statements = [{
    sid       = "QueryTable"
    actions   = ["dynamodb:Query"]
    resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/t"]
  }]
}

run "the_rule_runs_the_function_on_its_schedule" {
  command = plan

  module {
    source = "./modules/scheduled_function"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this.schedule_expression == "rate(5 minutes)" && aws_cloudwatch_event_rule.this.state == "ENABLED"
    error_message = "The rule must fire on the given schedule, enabled."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.rule == "shardline-scheduled-rollup" && aws_cloudwatch_event_target.this.arn == "arn:aws:lambda:us-east-1:123456789012:function:shardline-scheduled-rollup:live"
    error_message = "The rule's target must be the function."
  }

  assert {
    condition     = aws_lambda_permission.schedule.principal == "events.amazonaws.com" && aws_lambda_permission.schedule.source_arn == "arn:aws:events:us-east-1:123456789012:rule/shardline-scheduled-rollup" && aws_lambda_permission.schedule.action == "lambda:InvokeFunction"
    error_message = "Only this rule may invoke the function through EventBridge."
  }

  assert {
    condition     = aws_lambda_permission.schedule.qualifier == "live" && aws_lambda_function_event_invoke_config.this.qualifier == "live"
    error_message = "The schedule invokes the live alias: its permission and its async settings are the alias's (both apply per qualifier)."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 0
    error_message = "A failed scheduled run is not retried by default (the next run redoes its work)."
  }

  assert {
    condition     = module.function.policy_statements == var.policy_statements
    error_message = "The caller's statements must become the function's access policy."
  }

  assert {
    condition     = module.function.log_group_name == "/aws/lambda/shardline-scheduled-rollup"
    error_message = "The function must log to its own log group."
  }

  assert {
    condition = (
      module.function.settings.architectures == tolist(["x86_64"]) &&
      module.function.settings.memory_size == 256 &&
      module.function.settings.timeout == 60 &&
      module.function.settings.log_retention_in_days == 30
    )
    error_message = "The wrapper's function defaults must be modules/function's (x86_64, 256 MB, 60 s, 30 days of logs)."
  }

  assert {
    condition     = module.function.settings.runtime == "python3.12" && module.function.settings.tracing_mode == "Active" && module.function.settings.reserved_concurrent_executions == -1
    error_message = "The scheduled function gets the same runtime, tracing and concurrency defaults as every function."
  }
}

run "a_paused_schedule_is_disabled" {
  command = plan

  module {
    source = "./modules/scheduled_function"
  }

  variables {
    schedule_enabled = false
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this.state == "DISABLED"
    error_message = "schedule_enabled = false must disable the rule."
  }
}

run "accepts_singular_rate_and_cron" {
  command = plan

  module {
    source = "./modules/scheduled_function"
  }

  variables {
    schedule_expression = "cron(0/5 * * * ? *)"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this.schedule_expression == "cron(0/5 * * * ? *)"
    error_message = "A cron expression must be passed through."
  }
}

run "rejects_plural_rate_of_one" {
  command = plan

  module {
    source = "./modules/scheduled_function"
  }

  variables {
    schedule_expression = "rate(1 minutes)"
  }

  expect_failures = [var.schedule_expression]
}

run "rejects_a_non_schedule" {
  command = plan

  module {
    source = "./modules/scheduled_function"
  }

  variables {
    schedule_expression = "every 5 minutes"
  }

  expect_failures = [var.schedule_expression]
}

run "rejects_async_retries_above_2" {
  command = plan

  module {
    source = "./modules/scheduled_function"
  }

  variables {
    maximum_retry_attempts = 3
  }

  expect_failures = [var.maximum_retry_attempts]
}

run "rejects_a_job_without_statements" {
  command = plan

  module {
    source = "./modules/scheduled_function"
  }

  variables {
    policy_statements = []
  }

  expect_failures = [var.policy_statements]
}
