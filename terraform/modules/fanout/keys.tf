# Customer managed keys of the alerts topic (used through SNS) and the archive bucket
# (used through S3). Same shape as the table keys (modules/storage/iam.tf): the account
# administers the key, and principals of this account may use it only through its
# service and only when their own IAM policies allow it too (the account-root principal
# delegates to IAM). So the alerts role's own statements (iam_alerts.tf) are what let it
# publish, and the key policy need not name a role that is created after the key.

locals {
  service_keys = {
    alerts_topic = {
      description = "Encrypts the ${local.alerts_name} SNS topic"
      alias       = "alias/${local.alerts_name}-topic"
      via_service = local.sns_via_service
    }
    archive = {
      description = "Encrypts the objects of the raw telemetry archive bucket"
      alias       = "alias/${local.archive_name}-bucket"
      via_service = local.s3_via_service
    }
  }
  account_root_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
}

resource "aws_kms_key" "service" {
  for_each = local.service_keys

  description             = each.value.description
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.service_key[each.key].json
  tags                    = var.tags
}

resource "aws_kms_alias" "service" {
  for_each = local.service_keys

  name          = each.value.alias
  target_key_id = aws_kms_key.service[each.key].key_id
}

data "aws_iam_policy_document" "service_key" {
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" means this key only, and the principal is the owning account.
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" means this key only, and the principal is the owning account.
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" means this key only; a key policy cannot name the key's own ARN before it exists.
  for_each = local.service_keys

  statement {
    sid = "KeyAdministrationByAccount"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:Create*",
      "kms:Delete*",
      "kms:Describe*",
      "kms:Disable*",
      "kms:Enable*",
      "kms:Get*",
      "kms:List*",
      "kms:Put*",
      "kms:Revoke*",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:Update*",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root_arn]
    }
  }

  statement {
    sid       = "UseThroughService"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [each.value.via_service]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}
