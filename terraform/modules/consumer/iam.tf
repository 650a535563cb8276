# What the mapping and the function's work need, beyond the logs and tracing permissions
# of modules/function: one policy per concern, on the function's role.

locals {
  # Read actions Lambda's poller needs on the event source, per source type.
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
}

# Event source: read the one stream the mapping polls.
data "aws_iam_policy_document" "event_source" {
  statement {
    sid       = "ReadEventSource"
    actions   = local.event_source_actions[var.event_source_type]
    resources = [var.event_source_arn]
  }

  # Lambda's documented DynamoDB-stream permissions include ListStreams, which has no
  # resource-level permissions.
  dynamic "statement" {
    for_each = var.event_source_type == "dynamodb" ? [1] : []

    content {
      sid       = "ListTableStreams"
      actions   = ["dynamodb:ListStreams"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "event_source" {
  name   = "event-source"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.event_source.json
}

# Event source encryption: decrypt records of a KMS-encrypted Kinesis stream.
data "aws_iam_policy_document" "event_source_kms" {
  count = length(var.event_source_kms_key_arns) > 0 ? 1 : 0

  statement {
    sid       = "DecryptEventSource"
    actions   = ["kms:Decrypt"]
    resources = var.event_source_kms_key_arns
  }
}

resource "aws_iam_role_policy" "event_source_kms" {
  count = length(var.event_source_kms_key_arns) > 0 ? 1 : 0

  name   = "event-source-kms"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.event_source_kms[0].json
}

# DynamoDB: item writes to the tables the function owns.
data "aws_iam_policy_document" "dynamodb_write" {
  count = length(var.dynamodb_write_table_arns) > 0 ? 1 : 0

  statement {
    sid = "WriteTables"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:DescribeTable",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = var.dynamodb_write_table_arns
  }
}

resource "aws_iam_role_policy" "dynamodb_write" {
  count = length(var.dynamodb_write_table_arns) > 0 ? 1 : 0

  name   = "dynamodb-write"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.dynamodb_write[0].json
}

# On-failure destination: Lambda sends failed-batch records with the function's role.
data "aws_iam_policy_document" "on_failure" {
  statement {
    sid       = "SendToFailureQueue"
    actions   = ["sqs:SendMessage"]
    resources = [var.on_failure_queue_arn]
  }
}

resource "aws_iam_role_policy" "on_failure" {
  name   = "on-failure-destination"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.on_failure.json
}
