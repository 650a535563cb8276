# One failure queue per worker: the on-failure destination of its async invocations.
# Lambda sends there the record of an event that ran out of retries or event age, with
# the whole requestPayload (hence the dispatcher's 192 KiB payload cap), so the records
# can be re-driven. Encrypted with SQS-managed keys (SSE-SQS): no key policy has to
# admit Lambda's sender; TLS only.

data "aws_caller_identity" "current" {}

locals {
  worker_names = toset(["device_state", "alerts", "archive"])
  # The policy is set when the queue is created, so its ARN is built from the name.
  worker_failure_queue_names = { for name in local.worker_names : name => "${var.name_prefix}-${replace(name, "_", "-")}-failures" }
}

resource "aws_sqs_queue" "worker_failures" {
  for_each = local.worker_names

  name                      = local.worker_failure_queue_names[each.key]
  message_retention_seconds = var.worker_failure_queue_message_retention_seconds
  sqs_managed_sse_enabled   = true
  policy                    = data.aws_iam_policy_document.worker_failures_tls_only[each.key].json
  tags                      = var.tags
}

data "aws_iam_policy_document" "worker_failures_tls_only" {
  for_each = local.worker_names

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = ["arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${local.worker_failure_queue_names[each.key]}"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}
