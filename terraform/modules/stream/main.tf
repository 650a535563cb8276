data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_root_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  kinesis_service  = "kinesis.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
  sqs_arn_prefix   = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  queue_arns = {
    failures     = "${local.sqs_arn_prefix}:${var.failure_queue_name}"
    failures_dlq = "${local.sqs_arn_prefix}:${var.failure_queue_name}-dlq"
  }
}

resource "aws_kms_key" "stream" {
  description             = "Encrypts the ${var.stream_name} Kinesis stream"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.stream_key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "stream" {
  name          = "alias/${var.stream_name}"
  target_key_id = aws_kms_key.stream.key_id
}

resource "aws_kinesis_stream" "this" {
  name             = var.stream_name
  retention_period = var.retention_hours
  # AWS rejects a shard count on an on-demand stream.
  shard_count         = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  shard_level_metrics = var.shard_level_metrics
  encryption_type     = "KMS"
  kms_key_id          = aws_kms_key.stream.arn

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.stream_mode == "ON_DEMAND" || try(var.shard_count >= 1, false)
      error_message = "A PROVISIONED stream needs shard_count >= 1."
    }
  }
}
