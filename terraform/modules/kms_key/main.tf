# A customer managed KMS key with rotation on, its alias and its key policy. The account
# administers the key (so IAM policies decide who manages it); every other use is one of
# var.usage_statements: principals of this account (the account root delegates to their
# IAM policies, which must allow the use too) or an AWS service principal, optionally only
# through one service (kms:ViaService), for callers of this account, and for an encryption
# context that names given ARNs (e.g. CloudWatch Logs' aws:logs:arn); a service principal
# may be held to acting for given resources of this account (aws:SourceArn/SourceAccount).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id       = data.aws_caller_identity.current.account_id
  account_root_arn = "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.this.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = var.alias
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" means this key only, and the principal is the owning account.
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" means this key only, and the principal is the owning account.
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" means this key only; a key policy cannot name the key's own ARN before it exists.
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

  dynamic "statement" {
    for_each = var.usage_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = ["*"]

      principals {
        type        = statement.value.service_principal == null ? "AWS" : "Service"
        identifiers = [coalesce(statement.value.service_principal, local.account_root_arn)]
      }

      dynamic "condition" {
        for_each = statement.value.via_service == null ? [] : [statement.value.via_service]
        content {
          test     = "StringEquals"
          variable = "kms:ViaService"
          values   = [condition.value]
        }
      }

      dynamic "condition" {
        for_each = statement.value.encryption_context == null ? [] : [statement.value.encryption_context]
        content {
          test     = "ArnLike"
          variable = "kms:EncryptionContext:${condition.value.key}"
          values   = condition.value.arns
        }
      }

      dynamic "condition" {
        for_each = statement.value.source_arns == null ? [] : [statement.value.source_arns]
        content {
          test     = "ArnLike"
          variable = "aws:SourceArn"
          values   = condition.value
        }
      }

      dynamic "condition" {
        for_each = statement.value.source_arns == null ? [] : [local.account_id]
        content {
          test     = "StringEquals"
          variable = "aws:SourceAccount"
          values   = [condition.value]
        }
      }

      dynamic "condition" {
        for_each = statement.value.caller_account_only ? [local.account_id] : []
        content {
          test     = "StringEquals"
          variable = "kms:CallerAccount"
          values   = [condition.value]
        }
      }
    }
  }
}
