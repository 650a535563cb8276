# Plan-only tests of modules/consumer on its own, so its resources, IAM documents and
# preconditions can be inspected; the function itself (and the validation of its
# settings) is tested in function.tftest.hcl. Needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

override_resource {
  target          = module.function.aws_cloudwatch_log_group.this
  override_during = plan
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/shardline-aggregator"
  }
}

override_resource {
  target          = module.function.aws_lambda_alias.live
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-aggregator:live"
  }
}

override_resource {
  target          = module.function.aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-aggregator"
  }
}

variables {
  function_name               = "shardline-aggregator"
  package_path                = "aggregator.zip"
  package_base64sha256        = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  handler                     = "lambdas.aggregator.handler.lambda_handler"
  event_source_arn            = "arn:aws:kinesis:us-east-1:123456789012:stream/shardline-telemetry"
  event_source_kms_key_arns   = ["arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"]
  dynamodb_write_table_arns   = ["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"]
  dynamodb_table_kms_key_arns = ["arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"]
  on_failure_queue_arn        = "arn:aws:sqs:us-east-1:123456789012:shardline-stream-failures"
}

run "function_defaults" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  assert {
    condition     = module.function.settings.runtime == "python3.12"
    error_message = "Default runtime must be python3.12."
  }

  assert {
    condition     = module.function.settings.handler == "lambdas.aggregator.handler.lambda_handler"
    error_message = "handler must be passed through."
  }

  assert {
    condition     = module.function.settings.source_code_hash == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    error_message = "A given package hash must be used as is."
  }

  assert {
    condition     = module.function.settings.tracing_mode == "Active"
    error_message = "X-Ray tracing must be active by default."
  }

  assert {
    condition     = module.function.settings.reserved_concurrent_executions == -1
    error_message = "No reserved concurrency by default."
  }

  assert {
    condition     = module.function.log_group_name == "/aws/lambda/shardline-aggregator"
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
    condition     = aws_lambda_event_source_mapping.this.function_name == "arn:aws:lambda:us-east-1:123456789012:function:shardline-aggregator:live"
    error_message = "The mapping must invoke the consumer function's live alias (deploys and rollbacks move the alias, not the mapping)."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.bisect_batch_on_function_error == true
    error_message = "Bisect must be on by default."
  }

  assert {
    condition     = toset(aws_lambda_event_source_mapping.this.function_response_types) == toset(["ReportBatchItemFailures"])
    error_message = "ReportBatchItemFailures must be on by default."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == var.on_failure_queue_arn
    error_message = "The on-failure destination must be the given queue."
  }
}

run "one_access_policy_names_every_resource_and_key" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  # A Kinesis consumer: the poller's reads (and ListStreams, as in AWS's managed
  # AWSLambdaKinesisExecutionRole), the stream key through Kinesis, the table keys through
  # DynamoDB, the code's batch writes and the on-failure destination.
  assert {
    condition = {
      for statement in output.policy_statements : statement.sid => {
        actions    = toset(statement.actions)
        resources  = toset(statement.resources)
        conditions = [for condition in statement.conditions : [condition.test, condition.variable, toset(condition.values)]]
      }
      } == {
      ReadEventSource = {
        actions    = toset(["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"])
        resources  = toset([var.event_source_arn])
        conditions = []
      }
      ListStreams = {
        actions    = toset(["kinesis:ListStreams"])
        resources  = toset(["*"])
        conditions = []
      }
      DecryptKinesis = {
        actions    = toset(["kms:Decrypt"])
        resources  = toset(var.event_source_kms_key_arns)
        conditions = [["StringEquals", "kms:ViaService", toset(["kinesis.us-east-1.amazonaws.com"])]]
      }
      DecryptDynamodb = {
        actions    = toset(["kms:Decrypt"])
        resources  = toset(var.dynamodb_table_kms_key_arns)
        conditions = [["StringEquals", "kms:ViaService", toset(["dynamodb.us-east-1.amazonaws.com"])]]
      }
      BatchWriteTables = {
        actions    = toset(["dynamodb:BatchWriteItem"])
        resources  = toset(var.dynamodb_write_table_arns)
        conditions = []
      }
      SendToFailureQueue = {
        actions    = toset(["sqs:SendMessage"])
        resources  = toset([var.on_failure_queue_arn])
        conditions = []
      }
    }
    error_message = "The consumer's access policy must hold exactly what the poller, the code and the destination call, on the named resources and keys."
  }

  assert {
    condition     = module.function.policy_statements == output.policy_statements
    error_message = "The statements must become the function's one access policy."
  }
}

run "optional_statements_follow_inputs" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    event_source_kms_key_arns   = []
    dynamodb_write_table_arns   = []
    dynamodb_table_kms_key_arns = []
    tracing_mode                = "PassThrough"
  }

  assert {
    condition     = toset([for statement in output.policy_statements : statement.sid]) == toset(["ReadEventSource", "ListStreams", "SendToFailureQueue"])
    error_message = "Unused permissions must not be granted."
  }

  # Without tracing, modules/function grants no X-Ray permission (function.tftest.hcl).
  assert {
    condition     = module.function.settings.tracing_mode == "PassThrough"
    error_message = "tracing_mode must be passed through to the function."
  }
}

run "an_encrypted_failure_queue_needs_its_key_for_sending" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    on_failure_queue_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
  }

  # SendMessage to an SSE-KMS queue: SQS generates and decrypts a data key with the
  # sender's (here Lambda's, with the execution role) permissions.
  assert {
    condition = [
      for statement in output.policy_statements : [toset(statement.actions), toset(statement.resources), toset(statement.conditions[0].values)]
      if statement.sid == "EncryptForFailureQueue"
      ] == [[
        toset(["kms:Decrypt", "kms:GenerateDataKey"]),
        toset(["arn:aws:kms:us-east-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]),
        toset(["sqs.us-east-1.amazonaws.com"]),
    ]]
    error_message = "An SSE-KMS failure queue needs kms:GenerateDataKey and kms:Decrypt through SQS."
  }
}

run "dynamodb_stream_source_gets_dynamodb_read_actions_and_one_table_key_statement" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    event_source_type           = "dynamodb"
    event_source_arn            = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/stream/2025-01-01T00:00:00.000"
    event_source_kms_key_arns   = ["arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"]
    dynamodb_table_kms_key_arns = ["arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"]
    extra_policy_statements = [{
      sid       = "QueryPartials"
      actions   = ["dynamodb:Query"]
      resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"]
    }]
  }

  assert {
    condition = {
      for statement in output.policy_statements : statement.sid => [toset(statement.actions), toset(statement.resources)]
      } == {
      ReadEventSource    = [toset(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]), toset([var.event_source_arn])]
      ListStreams        = [toset(["dynamodb:ListStreams"]), toset(["*"])]
      DecryptDynamodb    = [toset(["kms:Decrypt"]), toset(["arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"])]
      BatchWriteTables   = [toset(["dynamodb:BatchWriteItem"]), toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"])]
      SendToFailureQueue = [toset(["sqs:SendMessage"]), toset([var.on_failure_queue_arn])]
      QueryPartials      = [toset(["dynamodb:Query"]), toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"])]
    }
    error_message = "A DynamoDB stream consumer reads the stream, decrypts the table key once through DynamoDB, and gets its extra statements in the same policy."
  }
}

run "rejects_parallelization_with_tumbling_window" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    parallelization_factor     = 2
    tumbling_window_in_seconds = 10
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_at_timestamp_without_timestamp" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    starting_position = "AT_TIMESTAMP"
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_batch_size_0" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    batch_size = 0
  }

  expect_failures = [var.batch_size]
}

# The root module passes its consumer objects (aggregator, rollup) through unvalidated:
# these are the only checks of their mapping settings.
run "rejects_batching_window_parallelization_and_starting_position_out_of_range" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    maximum_batching_window_in_seconds = 301
    parallelization_factor             = 11
    starting_position                  = "EARLIEST"
  }

  expect_failures = [var.maximum_batching_window_in_seconds, var.parallelization_factor, var.starting_position]
}

run "rejects_tumbling_window_901" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    tumbling_window_in_seconds = 901
  }

  expect_failures = [var.tumbling_window_in_seconds]
}

run "rejects_retries_minus_2" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    maximum_retry_attempts = -2
  }

  expect_failures = [var.maximum_retry_attempts]
}

run "rejects_record_age_30" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    maximum_record_age_in_seconds = 30
  }

  expect_failures = [var.maximum_record_age_in_seconds]
}

run "rejects_unknown_response_type" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    function_response_types = ["ReportItemFailures"]
  }

  expect_failures = [var.function_response_types]
}

run "no_filter_criteria_by_default" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.this.filter_criteria) == 0
    error_message = "Without filter_patterns the mapping sends every record."
  }
}

run "filter_patterns_become_filter_criteria" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    filter_patterns = [jsonencode({ data = { kind = ["reading"] } }), jsonencode({ data = { kind = ["alert"] } })]
  }

  assert {
    condition     = toset([for filter in one(aws_lambda_event_source_mapping.this.filter_criteria).filter : filter.pattern]) == toset([jsonencode({ data = { kind = ["reading"] } }), jsonencode({ data = { kind = ["alert"] } })])
    error_message = "Each pattern must be one filter of the mapping's FilterCriteria."
  }
}

run "rejects_six_filter_patterns" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    filter_patterns = [for n in range(6) : jsonencode({ data = { n = [n] } })]
  }

  expect_failures = [var.filter_patterns]
}

run "rejects_a_filter_pattern_that_is_not_a_json_object" {
  command = plan

  module {
    source = "./modules/consumer"
  }

  variables {
    filter_patterns = ["[\"INSERT\"]"]
  }

  expect_failures = [var.filter_patterns]
}
