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
# Python API's hour reads), the HTTP query API (execute-api:Invoke on its routes) and
# `shardline quarantine list` (Scan of the quarantine table); DynamoDB decrypts each
# table's key with the reader's permissions. With the fanout deployed, also what the
# fanout's readers call (analyst_fanout_statements).
data "aws_iam_policy_document" "analyst" {
  dynamic "statement" {
    for_each = local.analyst_fanout_statements

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }

  # The HTTP query API's routes (query_api.tf), when it is deployed.
  dynamic "statement" {
    for_each = module.query_api

    content {
      sid       = "InvokeQueryApi"
      actions   = ["execute-api:Invoke"]
      resources = statement.value.route_arns
    }
  }

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

# The fanout's readers, for analysts:
# - `shardline devices` Scans the device-state table; the alert state is read by device
#   and rule (GetItem, Query) or whole (Scan);
# - the alerts queue: ReceiveMessage, and ChangeMessageVisibility to hand messages back
#   (visibility 0) once shown. SQS has no peek: every receive hides what it returns, and
#   receiving with VisibilityTimeout 0 would return the same messages to the reader's
#   next receive, so `shardline alerts` hides them while it reads and then releases
#   them. No DeleteMessage: reading alerts must not consume them for other readers;
#   alerts leave the queue by its retention (`shardline alerts --ack`, which deletes,
#   needs sqs:DeleteMessage besides). SSE-SQS: no key permission is needed;
# - the archive: ListBucket (under the archive's prefix) and GetObject, with kms:Decrypt
#   through S3 on the archive's key; Athena users need Glue and Athena permissions
#   besides (not granted here).
locals {
  analyst_fanout_statements = flatten([for fanout in module.fanout : [
    {
      sid        = "ReadDeviceAndAlertState"
      actions    = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"]
      resources  = [fanout.device_state_table_arn, fanout.alert_state_table_arn]
      conditions = []
    },
    {
      sid       = "DecryptStateTablesThroughDynamoDB"
      actions   = ["kms:Decrypt"]
      resources = [fanout.device_state_table_kms_key_arn, fanout.alert_state_table_kms_key_arn]
      conditions = [{
        test = "StringEquals", variable = "kms:ViaService", values = [local.dynamodb_via_service]
      }]
    },
    {
      sid        = "ReadAlertsQueue"
      actions    = ["sqs:ChangeMessageVisibility", "sqs:ReceiveMessage"]
      resources  = [fanout.alerts_queue_arn]
      conditions = []
    },
    {
      sid       = "ListArchive"
      actions   = ["s3:ListBucket"]
      resources = [fanout.archive_bucket_arn]
      conditions = [{
        test = "StringLike", variable = "s3:prefix", values = ["${fanout.archive_prefix}*"]
      }]
    },
    {
      sid        = "ReadArchiveObjects"
      actions    = ["s3:GetObject"]
      resources  = ["${fanout.archive_bucket_arn}/${fanout.archive_prefix}*"]
      conditions = []
    },
    {
      sid       = "DecryptArchiveThroughS3"
      actions   = ["kms:Decrypt"]
      resources = [fanout.archive_kms_key_arn]
      conditions = [{
        test = "StringEquals", variable = "kms:ViaService", values = ["s3.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"]
      }]
    },
  ]])
}

resource "aws_iam_policy" "producer" {
  name        = "${local.global_name_prefix}-producer"
  description = "Put telemetry into the ${module.stream.stream_name} stream (shardline producers)"
  policy      = data.aws_iam_policy_document.producer.json
}

resource "aws_iam_policy" "analyst" {
  name        = "${local.global_name_prefix}-analyst"
  description = "Read aggregates, quarantined records and, with the fanout, device and alert state, the alerts queue and the archive"
  policy      = data.aws_iam_policy_document.analyst.json
}
