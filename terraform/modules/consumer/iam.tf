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

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.function_name
  description        = "Execution role of the ${var.function_name} Lambda function"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

# Logs: write to the function's own log group only (Terraform creates the group).
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
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
  role   = aws_iam_role.this.id
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
  role   = aws_iam_role.this.id
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
  role   = aws_iam_role.this.id
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
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.on_failure.json
}

# X-Ray: trace segments. These actions have no resource-level permissions.
data "aws_iam_policy_document" "tracing" {
  count = var.tracing_mode == "Active" ? 1 : 0

  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "tracing" {
  count = var.tracing_mode == "Active" ? 1 : 0

  name   = "tracing"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.tracing[0].json
}
