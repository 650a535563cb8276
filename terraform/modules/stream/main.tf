data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  kinesis_service = "kinesis.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
  sqs_arn_prefix  = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  queue_arns = {
    failures     = "${local.sqs_arn_prefix}:${var.failure_queue_name}"
    failures_dlq = "${local.sqs_arn_prefix}:${var.failure_queue_name}-dlq"
  }
}

# The stream key: use is allowed only through Kinesis, for principals of this account
# whose IAM policies also allow it.
module "key" {
  source = "../kms_key"

  alias                   = "alias/${var.stream_name}"
  description             = "Encrypts the ${var.stream_name} Kinesis stream"
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags
  usage_statements = [{
    sid         = "UseThroughKinesis"
    actions     = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    via_service = local.kinesis_service
  }]
}

# The key and its alias moved into modules/kms_key: a state move, never a new key (the
# stream's records are encrypted with it).
moved {
  from = aws_kms_key.stream
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.stream
  to   = module.key.aws_kms_alias.this
}

resource "aws_kinesis_stream" "this" {
  name             = var.stream_name
  retention_period = var.retention_hours
  # AWS rejects a shard count on an on-demand stream.
  shard_count         = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  shard_level_metrics = var.shard_level_metrics
  encryption_type     = "KMS"
  kms_key_id          = module.key.arn

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
