# Least-privilege policies for the people and devices outside the stack, from what the
# CLI and the producers call (README, "Access for users"): attach the managed policies
# (or copy the JSON outputs) to their users or roles. Keys have root-only key policies,
# so these policies carry the KMS permissions too, usable only through the service.

# producer: devices and `shardline simulate` (producers/publisher.py PutRecords,
# producers/aggregation.py ListShards for the shard map, the CLI's DescribeStreamSummary
# check); Kinesis asks KMS for a data key with the producer's permissions.
data "aws_iam_policy_document" "producer" {
  statement {
    sid = "PutTelemetry"
    actions = [
      "kinesis:DescribeStreamSummary",
      "kinesis:ListShards",
      "kinesis:PutRecord",
      "kinesis:PutRecords",
    ]
    resources = [module.stream.stream_arn]
  }

  statement {
    sid       = "EncryptThroughKinesis"
    actions   = ["kms:GenerateDataKey"]
    resources = [module.stream.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kinesis_via_service]
    }
  }
}

# analyst: `shardline query` (Query on the aggregates table; the by_hour index for the
# Python API's hour reads) and `shardline quarantine list` (Scan of the quarantine
# table); DynamoDB decrypts each table's key with the reader's permissions.
data "aws_iam_policy_document" "analyst" {
  statement {
    sid       = "QueryAggregates"
    actions   = ["dynamodb:Query"]
    resources = [module.storage.table_arn, module.storage.index_arns[local.hour_index_name]]
  }

  statement {
    sid       = "ScanQuarantine"
    actions   = ["dynamodb:Scan"]
    resources = [module.quarantine_storage.table_arn]
  }

  statement {
    sid       = "DecryptTablesThroughDynamoDB"
    actions   = ["kms:Decrypt"]
    resources = [module.storage.kms_key_arn, module.quarantine_storage.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.dynamodb_via_service]
    }
  }
}

resource "aws_iam_policy" "producer" {
  name        = "${local.global_name_prefix}-producer"
  description = "Put telemetry into the ${module.stream.stream_name} stream (shardline producers)"
  policy      = data.aws_iam_policy_document.producer.json
}

resource "aws_iam_policy" "analyst" {
  name        = "${local.global_name_prefix}-analyst"
  description = "Read aggregates and quarantined records (shardline query, shardline quarantine list)"
  policy      = data.aws_iam_policy_document.analyst.json
}
