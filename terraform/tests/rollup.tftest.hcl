# Plan-only tests of the root module with a mocked AWS provider: no credentials, no
# network. Needs Terraform >= 1.11 (override_during).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  aggregator_package_path         = "aggregator.zip"
  aggregator_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  rollup_package_path             = "rollup.zip"
  rollup_package_base64sha256     = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  # A dependencies layer built elsewhere (plan fails without one; see layers.tf).
  dependencies_layer_arns = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
}

run "rollup_reads_the_aggregates_table_stream" {
  command = plan

  # The values of envs/local.tfvars.
  variables {
    rollup = {
      batch_size                         = 500
      maximum_batching_window_in_seconds = 1
      maximum_retry_attempts             = 3
    }
  }

  assert {
    condition     = module.rollup[0].event_source_mapping.event_source_arn == output.aggregates_stream_arn
    error_message = "The rollup must read the aggregates table's stream."
  }

  assert {
    condition     = module.rollup[0].event_source_mapping.starting_position == "TRIM_HORIZON"
    error_message = "The rollup must start at TRIM_HORIZON so no partial is missed."
  }

  assert {
    condition     = module.rollup[0].event_source_mapping.bisect_batch_on_function_error == true
    error_message = "The rollup must bisect failed batches."
  }

  assert {
    condition     = toset(module.rollup[0].event_source_mapping.function_response_types) == toset(["ReportBatchItemFailures"])
    error_message = "The rollup must report batch item failures."
  }

  assert {
    condition     = module.rollup[0].event_source_mapping.on_failure_destination_arn == output.failure_queue_arn
    error_message = "Failed rollup batches must go to the failure queue."
  }

  assert {
    condition     = module.rollup[0].event_source_mapping.parallelization_factor == 1
    error_message = "One poller per stream shard keeps a series' partials in order."
  }

  assert {
    condition = module.rollup[0].event_source_mapping.filter_patterns == [jsonencode({
      eventName = ["INSERT", "MODIFY"]
      dynamodb = {
        Keys     = { SK = { S = [{ prefix = "P#" }] } }
        NewImage = { kind = { S = ["partial"] } }
      }
    })]
    error_message = "The rollup must be invoked only by inserted or modified partials, never by its own totals, markers, roll-ups or REMOVEs (TTL expiry)."
  }

  assert {
    condition     = module.storage.stream_view_type == "NEW_IMAGE"
    error_message = "The aggregates table's stream carries new images only: nothing reads old images."
  }

  assert {
    condition     = module.rollup[0].event_source_mapping.batch_size == 500 && module.rollup[0].event_source_mapping.maximum_batching_window_in_seconds == 1 && module.rollup[0].event_source_mapping.maximum_retry_attempts == 3
    error_message = "Rollup mapping settings must be passed through."
  }

  assert {
    condition     = output.rollup_function_name == "shardline-rollup"
    error_message = "The rollup function is named <prefix>-rollup."
  }
}

run "rollup_role_is_least_privilege_in_one_policy" {
  command = plan

  # Everything the rollup calls is in its one access policy, which exists before the
  # function, hence before its mapping: the poller's stream reads, the code's consistent
  # Query and batch writes (totals, and conflict losers into the quarantine table), both
  # tables' keys (table and stream alike) through DynamoDB, and the on-failure destination.
  assert {
    condition = {
      for statement in module.rollup[0].policy_statements : statement.sid => {
        actions    = toset(statement.actions)
        resources  = toset(statement.resources)
        conditions = [for condition in statement.conditions : [condition.test, condition.variable, toset(condition.values)]]
      }
      } == {
      ReadEventSource = {
        actions    = toset(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"])
        resources  = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/stream/2026-01-01T00:00:00.000"])
        conditions = []
      }
      ListStreams = {
        actions    = toset(["dynamodb:ListStreams"])
        resources  = toset(["*"])
        conditions = []
      }
      DecryptDynamodb = {
        actions = toset(["kms:Decrypt"])
        resources = toset(["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000b",
        "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000c"])
        conditions = [["StringEquals", "kms:ViaService", toset(["dynamodb.us-east-1.amazonaws.com"])]]
      }
      BatchWriteTables = {
        actions = toset(["dynamodb:BatchWriteItem"])
        resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates",
        "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-quarantine"])
        conditions = []
      }
      SendToFailureQueue = {
        actions    = toset(["sqs:SendMessage"])
        resources  = toset(["arn:aws:sqs:us-east-1:123456789012:shardline-stream-failures"])
        conditions = []
      }
      QueryPartials = {
        actions    = toset(["dynamodb:Query"])
        resources  = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"])
        conditions = []
      }
    }
    error_message = "The rollup's one policy must hold exactly what it calls (no separate Query policy that could be attached after the mapping starts)."
  }

  assert {
    condition     = module.rollup[0].settings.environment_variables["QUARANTINE_TABLE"] == "shardline-quarantine"
    error_message = "The rollup must know the quarantine table, where conflict losers go."
  }
}

run "no_rollup_without_its_package" {
  command = plan

  variables {
    rollup_package_path = null
  }

  assert {
    condition     = length(module.rollup) == 0 && output.rollup_function_name == null
    error_message = "Without rollup_package_path no rollup is deployed."
  }
}
