# The workers' least-privilege statements, from the calls each worker's repository.py
# makes (the dispatcher's come from modules/consumer plus InvokeWorkers in main.tf).

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  dynamodb_via_service = "dynamodb.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
  sns_via_service      = "sns.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
  s3_via_service       = "s3.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"

  device_state_statements = [
    {
      # One conditional UpdateItem per item (lambdas/device_state/repository.py).
      sid        = "UpdateDeviceState"
      actions    = ["dynamodb:UpdateItem"]
      resources  = [module.device_state_storage.table_arn]
      conditions = []
    },
    {
      # DynamoDB decrypts the table key with the caller's permissions.
      sid       = "DecryptDeviceStateTable"
      actions   = ["kms:Decrypt"]
      resources = [module.device_state_storage.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.dynamodb_via_service]
      }]
    },
    {
      # Lambda sends the on-failure record of an async event with the function's role.
      sid        = "SendToOwnFailureQueue"
      actions    = ["sqs:SendMessage"]
      resources  = [aws_sqs_queue.worker_failures["device_state"].arn]
      conditions = []
    },
  ]
}

locals {
  alerts_statements = [
    {
      # lambdas/alerts/repository.py: BatchGetItem (a payload's states, consistent read),
      # GetItem (re-read after a conflict), PutItem (conditional on the version) and
      # UpdateItem (the outbox's claim and settle). No Query, Scan or DeleteItem.
      sid        = "ReadWriteAlertState"
      actions    = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      resources  = [module.alert_state_storage.table_arn]
      conditions = []
    },
    {
      # DynamoDB uses the table's customer managed key with the caller's permissions:
      # kms:Decrypt, through DynamoDB only (as for every table, modules/storage/iam.tf).
      sid       = "DecryptAlertStateTable"
      actions   = ["kms:Decrypt"]
      resources = [module.alert_state_storage.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.dynamodb_via_service]
      }]
    },
    {
      sid        = "PublishAlerts"
      actions    = ["sns:Publish"]
      resources  = [aws_sns_topic.alerts.arn]
      conditions = []
    },
    {
      # SNS encrypts a message for an SSE topic with a data key it asks KMS for as the
      # publisher: the SNS guide's key management section requires
      # kms:GenerateDataKey* and kms:Decrypt on the topic's key for publishers.
      sid       = "EncryptAlertsThroughSns"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = [module.service_key["alerts_topic"].arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.sns_via_service]
      }]
    },
    {
      # Lambda sends the on-failure record of an async event with the function's role.
      sid        = "SendToOwnFailureQueue"
      actions    = ["sqs:SendMessage"]
      resources  = [aws_sqs_queue.worker_failures["alerts"].arn]
      conditions = []
    },
  ]

  archive_statements = [
    {
      # lambdas/archive/repository.py puts objects under its prefix (it never reads or
      # deletes them) ...
      sid        = "PutArchiveObjects"
      actions    = ["s3:PutObject"]
      resources  = ["${aws_s3_bucket.archive.arn}/${var.archive.prefix}*"]
      conditions = []
    },
    {
      # ... and lists its (hour, shard) folders first, so that records already archived
      # in another payload are not written again (lambdas/archive/layout.py).
      sid       = "ListArchiveFolders"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.archive.arn]
      conditions = [{
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${var.archive.prefix}dt=*"]
      }]
    },
    {
      # A PutObject with SSE-KMS makes S3 ask KMS for a data key as the caller:
      # kms:GenerateDataKey. kms:Decrypt is not needed: the S3 guide requires it (with
      # GenerateDataKey) for multipart uploads, whose parts S3 must decrypt to complete
      # the object, and for reads; the worker makes single-part PutObject calls only.
      sid       = "EncryptArchiveThroughS3"
      actions   = ["kms:GenerateDataKey"]
      resources = [module.service_key["archive"].arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.s3_via_service]
      }]
    },
    {
      sid        = "SendToOwnFailureQueue"
      actions    = ["sqs:SendMessage"]
      resources  = [aws_sqs_queue.worker_failures["archive"].arn]
      conditions = []
    },
  ]
}
