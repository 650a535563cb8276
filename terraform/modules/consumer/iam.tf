# What the mapping and the function's work need, beyond the logs and tracing permissions
# of modules/function: statements for the function's one access policy, each naming the
# resource it is for. Every action here is one the code or Lambda's poller calls.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # Read actions Lambda's poller needs on the event source, per source type (as in AWS's
  # managed AWSLambdaKinesisExecutionRole / AWSLambdaDynamoDBExecutionRole, narrowed to
  # the one stream).
  event_source_actions = {
    kinesis = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    dynamodb = [
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
    ]
  }

  # ListStreams has no resource-level permissions in either service.
  list_streams_action = {
    kinesis  = "kinesis:ListStreams"
    dynamodb = "dynamodb:ListStreams"
  }

  # kms:ViaService value of the requests a service makes to KMS on the caller's behalf.
  via_service = {
    for service in ["kinesis", "dynamodb", "sqs"] :
    service => "${service}.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
  }

  # Keys the role decrypts with, by the service that asks: the event source's records
  # (a Kinesis stream's key, or a table's key for its DynamoDB stream) and the items of
  # the tables the function reads and writes (DynamoDB decrypts the table key with the
  # caller's permissions). One statement per service; a key named twice appears once in
  # the document (its resources are a set). No distinct() here: key ARNs are unknown
  # until the keys exist, and the number of statements must be known at plan.
  decrypt_keys = {
    kinesis  = var.event_source_type == "kinesis" ? var.event_source_kms_key_arns : []
    dynamodb = concat(var.event_source_type == "dynamodb" ? var.event_source_kms_key_arns : [], var.dynamodb_table_kms_key_arns)
  }

  policy_statements = concat(
    [
      {
        sid        = "ReadEventSource"
        actions    = local.event_source_actions[var.event_source_type]
        resources  = [var.event_source_arn]
        conditions = []
      },
    ],
    !local.enhanced_fan_out ? [] : [{
      # Enhanced fan-out: Lambda subscribes to each shard through the consumer (the
      # stream's read actions above stay: Lambda's docs list them for every Kinesis
      # mapping, and it describes the stream and its shards for either kind).
      sid        = "SubscribeThroughConsumer"
      actions    = ["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"]
      resources  = [aws_kinesis_stream_consumer.this[0].arn]
      conditions = []
    }],
    [
      {
        sid        = "ListStreams"
        actions    = [local.list_streams_action[var.event_source_type]]
        resources  = ["*"]
        conditions = []
      },
    ],
    [
      for service, keys in local.decrypt_keys : {
        sid       = "Decrypt${title(service)}"
        actions   = ["kms:Decrypt"]
        resources = keys
        conditions = [{
          test     = "StringEquals"
          variable = "kms:ViaService"
          values   = [local.via_service[service]]
        }]
      } if length(keys) > 0
    ],
    length(var.dynamodb_write_table_arns) == 0 ? [] : [{
      # The one batch writer (lambdas/shared/dynamo.py) writes with BatchWriteItem only.
      sid        = "BatchWriteTables"
      actions    = ["dynamodb:BatchWriteItem"]
      resources  = var.dynamodb_write_table_arns
      conditions = []
    }],
    [{
      # On-failure destination: Lambda sends the failed-batch record with this role.
      sid        = "SendToFailureQueue"
      actions    = ["sqs:SendMessage"]
      resources  = [var.on_failure_queue_arn]
      conditions = []
    }],
    var.on_failure_queue_kms_key_arn == null ? [] : [{
      # SendMessage to an SSE-KMS queue: SQS asks KMS for a data key, and decrypts it,
      # with the sender's permissions.
      sid       = "EncryptForFailureQueue"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.on_failure_queue_kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.via_service["sqs"]]
      }]
    }],
    var.extra_policy_statements,
  )
}
