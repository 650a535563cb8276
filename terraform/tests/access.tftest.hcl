# Plan-only tests of what the stack grants and to whom (function roles, outside users, key
# ARNs), account-global names, and the dependencies layer. Mocked AWS provider; needs
# Terraform >= 1.11 (override_during).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  aggregator_package_path         = "aggregator.zip"
  aggregator_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  # A dependencies layer built elsewhere (plan fails without one; see layers.tf).
  dependencies_layer_arns = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
}

run "account_global_names_carry_the_environment" {
  command = plan

  variables {
    environment = "prod"
  }

  assert {
    condition     = module.aggregator.role_name == "shardline-prod-aggregator"
    error_message = "IAM role names must be <prefix>-<environment>-<function>."
  }

  assert {
    condition     = aws_iam_policy.producer.name == "shardline-prod-producer" && aws_iam_policy.analyst.name == "shardline-prod-analyst"
    error_message = "IAM policy names must be <prefix>-<environment>-<user>."
  }

  assert {
    condition     = output.metrics_namespace == "shardline/prod"
    error_message = "The metrics namespace must carry the environment."
  }

  # Regional names stay <prefix>-<name> (the CLI's defaults).
  assert {
    condition     = output.aggregator_function_name == "shardline-aggregator" && output.stream_name == "shardline-telemetry"
    error_message = "Regional names must not change with the environment."
  }
}

run "another_environment_gets_other_iam_names" {
  command = plan

  variables {
    environment = "dev"
  }

  assert {
    condition     = module.aggregator.role_name == "shardline-dev-aggregator" && aws_iam_policy.producer.name == "shardline-dev-producer" && output.metrics_namespace == "shardline/dev"
    error_message = "dev and prod must not share IAM names or a metrics namespace."
  }
}

run "the_aggregator_uses_exactly_its_keys_tables_and_queue" {
  command = plan

  assert {
    condition = {
      for statement in module.aggregator.policy_statements : statement.sid => {
        actions    = toset(statement.actions)
        resources  = toset(statement.resources)
        conditions = [for condition in statement.conditions : [condition.test, condition.variable, toset(condition.values)]]
      }
      } == {
      ReadEventSource = {
        actions    = toset(["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"])
        resources  = toset(["arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry"])
        conditions = []
      }
      ListStreams = {
        actions    = toset(["kinesis:ListStreams"])
        resources  = toset(["*"])
        conditions = []
      }
      DecryptKinesis = {
        actions    = toset(["kms:Decrypt"])
        resources  = toset([output.stream_kms_key_arn])
        conditions = [["StringEquals", "kms:ViaService", toset(["kinesis.us-east-1.amazonaws.com"])]]
      }
      DecryptDynamodb = {
        actions    = toset(["kms:Decrypt"])
        resources  = toset([output.aggregates_table_kms_key_arn, output.quarantine_table_kms_key_arn])
        conditions = [["StringEquals", "kms:ViaService", toset(["dynamodb.us-east-1.amazonaws.com"])]]
      }
      BatchWriteTables = {
        actions    = toset(["dynamodb:BatchWriteItem"])
        resources  = toset([output.aggregates_table_arn, output.quarantine_table_arn])
        conditions = []
      }
      SendToFailureQueue = {
        actions    = toset(["sqs:SendMessage"])
        resources  = toset([output.failure_queue_arn])
        conditions = []
      }
    }
    error_message = "The aggregator's one policy must hold exactly what it calls: stream reads and its key through Kinesis, batch writes and both table keys through DynamoDB, the failure queue (SSE-SQS, no key)."
  }

  assert {
    condition     = output.stream_kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a" && output.aggregates_table_kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000b" && output.quarantine_table_kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
    error_message = "Every key ARN must be a root output."
  }
}

run "the_failure_queue_is_sse_sqs_so_senders_need_no_key" {
  command = plan

  assert {
    condition     = module.stream.failure_queue_sse.sqs_managed == true
    error_message = "The failure queue uses SSE-SQS; if it moves to a KMS key, pass the key to the consumers (on_failure_queue_kms_key_arn) and to the dlq operators."
  }
}

run "producer_policy_is_least_privilege" {
  command = plan

  assert {
    condition = {
      for statement in data.aws_iam_policy_document.producer.statement : statement.sid => [toset(statement.actions), toset(statement.resources)]
      } == {
      PutTelemetry          = [toset(["kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:PutRecord", "kinesis:PutRecords"]), toset([output.stream_arn])]
      EncryptThroughKinesis = [toset(["kms:GenerateDataKey"]), toset([output.stream_kms_key_arn])]
    }
    error_message = "Producers may put records, list shards and check the stream, and generate data keys of the stream key only."
  }

  assert {
    condition = alltrue([
      for statement in data.aws_iam_policy_document.producer.statement : (
        one(statement.condition).variable == "kms:ViaService" && toset(one(statement.condition).values) == toset(["kinesis.us-east-1.amazonaws.com"])
      ) if statement.sid == "EncryptThroughKinesis"
    ])
    error_message = "The producer's key use must go through Kinesis."
  }

  assert {
    condition     = aws_iam_policy.producer.policy == data.aws_iam_policy_document.producer.json && output.producer_policy_json == data.aws_iam_policy_document.producer.json
    error_message = "The managed policy and the JSON output must be the producer document."
  }
}

run "analyst_policy_is_least_privilege" {
  command = plan

  assert {
    condition = {
      for statement in data.aws_iam_policy_document.analyst.statement : statement.sid => [toset(statement.actions), toset(statement.resources)]
      } == {
      QueryAggregates              = [toset(["dynamodb:Query"]), toset([output.aggregates_table_arn, "${output.aggregates_table_arn}/index/by_hour"])]
      ScanQuarantine               = [toset(["dynamodb:Scan"]), toset([output.quarantine_table_arn])]
      DecryptTablesThroughDynamoDB = [toset(["kms:Decrypt"]), toset([output.aggregates_table_kms_key_arn, output.quarantine_table_kms_key_arn])]
    }
    error_message = "Analysts may Query the aggregates (and by_hour), Scan the quarantine table, and decrypt both table keys."
  }

  assert {
    condition = alltrue([
      for statement in data.aws_iam_policy_document.analyst.statement : (
        one(statement.condition).variable == "kms:ViaService" && toset(one(statement.condition).values) == toset(["dynamodb.us-east-1.amazonaws.com"])
      ) if statement.sid == "DecryptTablesThroughDynamoDB"
    ])
    error_message = "The analyst's key use must go through DynamoDB."
  }

  assert {
    condition     = aws_iam_policy.analyst.policy == data.aws_iam_policy_document.analyst.json && output.analyst_policy_json == data.aws_iam_policy_document.analyst.json
    error_message = "The managed policy and the JSON output must be the analyst document."
  }
}

# -- dependencies layer --

run "plan_fails_without_a_dependencies_layer" {
  command = plan

  variables {
    dependencies_layer_arns = []
  }

  expect_failures = [terraform_data.dependencies]
}

run "the_local_runtime_provides_the_dependencies" {
  command = plan

  variables {
    local_stack                      = true
    dependencies_provided_by_runtime = true
    dependencies_layer_arns          = []
  }

  assert {
    condition     = module.aggregator.settings.layers == null || length(module.aggregator.settings.layers) == 0
    error_message = "On the embedded AWS the functions run without a layer."
  }
}

run "only_the_local_runtime_provides_dependencies" {
  command = plan

  variables {
    dependencies_provided_by_runtime = true
    dependencies_layer_arns          = []
  }

  expect_failures = [terraform_data.dependencies]
}

run "the_layer_and_every_function_share_runtime_and_architecture" {
  command = plan

  variables {
    lambda_runtime                  = "python3.13"
    lambda_architecture             = "arm64"
    dependencies_layer_arns         = []
    dependencies_layer_path         = "tests/fixtures/layer.zip"
    dependencies_layer_runtime      = "python3.13"
    dependencies_layer_architecture = "arm64"
    rollup_package_path             = "rollup.zip"
    rollup_package_base64sha256     = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }

  assert {
    condition     = aws_lambda_layer_version.dependencies[0].compatible_runtimes == toset(["python3.13"]) && aws_lambda_layer_version.dependencies[0].compatible_architectures == toset(["arm64"])
    error_message = "The layer must declare the functions' runtime and architecture."
  }

  assert {
    condition = alltrue([
      for settings in [module.aggregator.settings, module.rollup[0].settings] :
      settings.runtime == "python3.13" && settings.architectures == tolist(["arm64"])
    ])
    error_message = "Every function must use lambda_runtime and lambda_architecture."
  }
}

run "a_layer_built_for_another_architecture_fails_at_plan" {
  command = plan

  variables {
    lambda_architecture             = "arm64"
    dependencies_layer_path         = "tests/fixtures/layer.zip"
    dependencies_layer_runtime      = "python3.12"
    dependencies_layer_architecture = "x86_64"
  }

  expect_failures = [terraform_data.dependencies]
}

run "rejects_unknown_runtime_architecture_and_environment" {
  command = plan

  variables {
    lambda_runtime      = "python3.9"
    lambda_architecture = "amd64"
    environment         = "Prod"
  }

  expect_failures = [var.lambda_runtime, var.lambda_architecture, var.environment]
}
