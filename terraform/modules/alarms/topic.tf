# The alarm topic and its key. CloudWatch publishes alarm notifications as the service
# principal cloudwatch.amazonaws.com: the topic policy must let it publish (only for
# alarms of this account), and because the topic is encrypted with a customer managed
# key, the key policy must let it use the key (kms:GenerateDataKey*, kms:Decrypt) —
# an AWS managed key (alias/aws/sns) cannot be used, its policy is not editable.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id       = data.aws_caller_identity.current.account_id
  account_root_arn = "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"
  alarm_arn_prefix = "arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.name}:${local.account_id}:alarm:"
}

module "key" {
  source = "../kms_key"

  alias                   = "alias/${var.name_prefix}-alarms-topic"
  description             = "Encrypts the ${var.name_prefix}-alarms SNS topic"
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags
  usage_statements = [
    {
      sid                 = "CloudWatchPublishesAlarms"
      actions             = ["kms:Decrypt", "kms:GenerateDataKey*"]
      service_principal   = "cloudwatch.amazonaws.com"
      caller_account_only = false
      source_arns         = ["${local.alarm_arn_prefix}*"]
    },
    {
      sid                 = "SubscribersReadThroughSns"
      actions             = ["kms:Decrypt", "kms:GenerateDataKey*"]
      via_service         = "sns.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
      caller_account_only = false
    },
  ]
}

# The key and its alias moved into modules/kms_key: a state move, never a new key.
moved {
  from = aws_kms_key.alarms
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.alarms
  to   = module.key.aws_kms_alias.this
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = module.key.arn
  tags              = var.tags
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.alarm_arn_prefix}*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "AccountManagesSubscriptions"
    actions   = ["sns:Subscribe", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "AWS"
      identifiers = [local.account_root_arn]
    }
  }
}
