# ARNs AWS computes, given values at plan time so the root module's wiring can be
# compared (the tests' targets are addresses in the root module).

override_resource {
  target          = module.quarantine_storage.aws_dynamodb_table.this
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-quarantine"
  }
}

override_resource {
  target          = module.scheduled_rollup[0].aws_cloudwatch_event_rule.this
  override_during = plan
  values = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/shardline-scheduled-rollup"
  }
}

override_resource {
  target          = module.scheduled_rollup[0].module.function.aws_lambda_alias.live
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shardline-scheduled-rollup:live"
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
  target          = module.storage.aws_dynamodb_table.this
  override_during = plan
  values = {
    arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/stream/2026-01-01T00:00:00.000"
  }
}

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
