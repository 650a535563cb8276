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

module "logs_key" {
  source = "../kms_key"

  alias                   = "alias/${var.name_prefix}-query-api-logs"
  description             = "Encrypts the ${var.name_prefix} query API's log groups"
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags
  usage_statements = [{
    sid                 = "CloudWatchLogsEncryptsTheseLogGroups"
    actions             = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    service_principal   = "logs.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
    caller_account_only = false
    encryption_context = {
      key = "aws:logs:arn"
      arns = [
        "${local.log_group_arn_prefix}${local.access_log_group}",
        "${local.log_group_arn_prefix}/aws/lambda/${var.name_prefix}-query",
      ]
    }
  }]
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable, as for the functions' logs; an access log is kept for operations, not as a record.
  name              = local.access_log_group
  retention_in_days = var.log_retention_in_days
  kms_key_id        = module.logs_key.arn
  tags              = var.tags
}
