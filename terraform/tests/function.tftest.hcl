# Plan-only tests of modules/function on its own: the function, its log group, its role's
# logs and tracing policies, and the validation of its settings (which the consumer and
# scheduled_function wrappers pass through unvalidated). Needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

override_resource {
  target          = aws_cloudwatch_log_group.this
  override_during = plan
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/shardline-aggregator"
  }
}

variables {
  function_name        = "shardline-aggregator"
  package_path         = "aggregator.zip"
  package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  handler              = "lambdas.aggregator.handler.lambda_handler"
}

run "function_defaults" {
  command = plan

  module {
    source = "./modules/function"
  }

  assert {
    condition     = aws_lambda_function.this.runtime == "python3.12"
    error_message = "Default runtime must be python3.12."
  }

  assert {
    condition     = aws_lambda_function.this.handler == "lambdas.aggregator.handler.lambda_handler"
    error_message = "handler must be passed through."
  }

  assert {
    condition     = aws_lambda_function.this.source_code_hash == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    error_message = "A given package hash must be used as is."
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active" && length(aws_iam_role_policy.tracing) == 1
    error_message = "X-Ray tracing must be active by default, with permission to write traces."
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == -1
    error_message = "No reserved concurrency by default."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/shardline-aggregator"
    error_message = "The function must log to its own log group."
  }

  assert {
    condition     = aws_iam_role.this.name == "shardline-aggregator" && aws_iam_role_policy.logs.name == "logs"
    error_message = "The role is named after the function and has its logs policy."
  }

  assert {
    condition = (
      aws_lambda_function.this.architectures == tolist(["x86_64"]) &&
      aws_lambda_function.this.memory_size == 256 &&
      aws_lambda_function.this.timeout == 60 &&
      aws_cloudwatch_log_group.this.retention_in_days == 30
    )
    error_message = "Defaults: x86_64, 256 MB, 60 s, 30 days of logs (the wrappers declare the same)."
  }
}

run "log_permissions_name_the_own_log_group" {
  command = plan

  module {
    source = "./modules/function"
  }

  assert {
    condition     = data.aws_iam_policy_document.logs.statement[0].resources == toset(["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/shardline-aggregator:*"])
    error_message = "Log permissions must cover only the function's own log group."
  }
}

run "no_tracing_permission_without_tracing" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    tracing_mode = "PassThrough"
  }

  assert {
    condition     = length(aws_iam_role_policy.tracing) == 0
    error_message = "Unused permissions must not be granted."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    error_message = "Without Active tracing, the handlers' Powertools Tracer must be switched off."
  }
}

run "tracer_on_with_active_tracing" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    environment_variables = { POWERTOOLS_SERVICE_NAME = "aggregator" }
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "POWERTOOLS_TRACE_DISABLED")
    error_message = "With Active tracing, the handlers' Powertools Tracer must stay on."
  }
}

run "rejects_six_layers" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    layers = [for version in range(1, 7) : "arn:aws:lambda:us-east-1:123456789012:layer:deps:${version}"]
  }

  expect_failures = [var.layers]
}

run "rejects_timeout_above_900" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    timeout = 901
  }

  expect_failures = [var.timeout]
}

run "rejects_an_invalid_function_name" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    function_name = "shardline aggregator"
  }

  expect_failures = [var.function_name]
}

run "role_name_and_one_access_policy" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    role_name = "shardline-prod-aggregator"
    policy_statements = [{
      sid        = "DecryptTable"
      actions    = ["kms:Decrypt"]
      resources  = ["arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"]
      conditions = [{ test = "StringEquals", variable = "kms:ViaService", values = ["dynamodb.us-east-1.amazonaws.com"] }]
    }]
  }

  assert {
    condition     = aws_iam_role.this.name == "shardline-prod-aggregator" && aws_lambda_function.this.function_name == "shardline-aggregator"
    error_message = "The role takes role_name (with the environment); the function keeps its name."
  }

  assert {
    condition     = length(aws_iam_role_policy.access) == 1 && aws_iam_role_policy.access[0].name == "access"
    error_message = "The statements become the role's one access policy."
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.access[0].statement).sid == "DecryptTable" &&
      one(one(data.aws_iam_policy_document.access[0].statement).condition).variable == "kms:ViaService"
    )
    error_message = "Each statement keeps its sid and conditions."
  }
}

run "no_access_policy_without_statements" {
  command = plan

  module {
    source = "./modules/function"
  }

  assert {
    condition     = length(aws_iam_role_policy.access) == 0 && aws_iam_role.this.name == "shardline-aggregator"
    error_message = "No statements, no access policy; the role defaults to the function's name."
  }
}

run "rejects_wildcard_actions_and_long_role_names" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    role_name = "shardline-a-very-long-environment-name-that-does-not-fit-scheduled-rollup"
    policy_statements = [{
      sid       = "Everything"
      actions   = ["dynamodb:*"]
      resources = ["*"]
    }]
  }

  expect_failures = [var.role_name, var.policy_statements]
}

run "function_live_alias_follows_the_published_version" {
  command = plan

  module {
    source = "./modules/function"
  }

  override_resource {
    target          = aws_lambda_function.this
    override_during = plan
    values = {
      version = "4"
    }
  }

  assert {
    condition     = aws_lambda_function.this.publish == true
    error_message = "Every change must publish a version for the live alias."
  }

  assert {
    condition     = aws_lambda_alias.live.name == "live" && aws_lambda_alias.live.function_version == "4"
    error_message = "The live alias must point to the version this apply publishes by default."
  }

  assert {
    condition     = length(aws_lambda_alias.live.routing_config) == 0
    error_message = "No weighted routing unless a canary is asked for."
  }
}

run "function_live_alias_pinned_with_a_canary" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    live_alias = { version = "3", canary_weight = 0.1 }
  }

  override_resource {
    target          = aws_lambda_function.this
    override_during = plan
    values = {
      version = "4"
    }
  }

  assert {
    condition     = aws_lambda_alias.live.function_version == "3"
    error_message = "A pinned live alias must stay on the pinned version (a rollback)."
  }

  assert {
    condition     = aws_lambda_alias.live.routing_config[0].additional_version_weights == tomap({ "4" = 0.1 })
    error_message = "The canary weight must route to the version this apply publishes."
  }
}

run "function_live_alias_refuses_latest_and_bad_weights" {
  command = plan

  module {
    source = "./modules/function"
  }

  variables {
    live_alias = { version = "$LATEST", canary_weight = 1.5 }
  }

  expect_failures = [var.live_alias]
}
