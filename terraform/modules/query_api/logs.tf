# The API's access log and the function's log group, encrypted with a key of their own:
# CloudWatch Logs uses it as the logs service principal, only for these two log groups
# (the kms:EncryptionContext:aws:logs:arn condition).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id           = data.aws_caller_identity.current.account_id
  log_group_arn_prefix = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${local.account_id}:log-group:"
  access_log_group     = "/aws/apigateway/${var.name_prefix}-query-api"
  # Fields of every access log line ($context variables of HTTP APIs).
  access_log_format = jsonencode({
    requestId          = "$context.requestId"
    ip                 = "$context.identity.sourceIp"
    caller             = "$context.identity.userArn"
    requestTime        = "$context.requestTime"
    routeKey           = "$context.routeKey"
    status             = "$context.status"
    protocol           = "$context.protocol"
    responseLength     = "$context.responseLength"
    integrationStatus  = "$context.integrationStatus"
    integrationLatency = "$context.integrationLatency"
    integrationError   = "$context.integrationErrorMessage"
  })
}

resource "aws_kms_key" "logs" {
  description             = "Encrypts the ${var.name_prefix} query API's log groups"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.logs_key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${var.name_prefix}-query-api-logs"
  target_key_id = aws_kms_key.logs.key_id
}

data "aws_iam_policy_document" "logs_key" {
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" means this key only, and the principal is the owning account.
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" means this key only, and the principal is the owning account.
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" means this key only; a key policy cannot name the key's own ARN before it exists.
  statement {
    sid = "KeyAdministrationByAccount"
    actions = [
      "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*",
      "kms:Enable*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*",
      "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
      "kms:UntagResource", "kms:Update*",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsTheseLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "${local.log_group_arn_prefix}${local.access_log_group}",
        "${local.log_group_arn_prefix}/aws/lambda/${var.name_prefix}-query",
      ]
    }
  }
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable, as for the functions' logs; an access log is kept for operations, not as a record.
  name              = local.access_log_group
  retention_in_days = var.log_retention_in_days
  kms_key_id        = aws_kms_key.logs.arn
  tags              = var.tags
}
