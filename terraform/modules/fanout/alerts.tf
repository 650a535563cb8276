# The alerts worker (lambdas/alerts, docs/alerts.md): threshold rules evaluated per device
# in event-time order from its state table, one message per raised or resolved episode
# published to an SNS topic encrypted with a customer managed key. An SQS queue subscribed
# to the topic holds the alerts for `shardline alerts` (and anyone else who reads them).

locals {
  alerts_name       = "${var.name_prefix}-alerts"
  alert_state_name  = "${var.name_prefix}-alert-state"
  alerts_queue_name = "${var.name_prefix}-alerts"
  alerts_queue_arn  = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${local.alerts_queue_name}"

  # ALERT_RULES as lambdas/alerts/config.py reads it ("for" is for_count here: HCL reads
  # `{ for = ... }` as a for expression).
  alert_rules = [for rule in var.alerts.rules : {
    name      = rule.name
    metric    = rule.metric
    op        = rule.op
    threshold = rule.threshold
    "for"     = rule.for_count
    severity  = rule.severity
  }]
}

# Rule state per (device, rule): PK D#<device>, SK A#<rule> (docs/alerts.md). No stream;
# items do not expire (an episode stays open until a reading resolves it).
module "alert_state_storage" {
  source = "../storage"

  table_name                  = local.alert_state_name
  stream_enabled              = false
  deletion_protection_enabled = var.alerts.table_deletion_protection
  kms_deletion_window_in_days = var.kms_deletion_window_in_days
  tags                        = var.tags
}

resource "aws_sns_topic" "alerts" {
  name              = local.alerts_name
  kms_master_key_id = module.service_key["alerts_topic"].arn
  tags              = var.tags
}

# The alerts queue. Raw message delivery is on: each message body is the alert's JSON
# exactly as docs/alerts.md gives it, and the SNS message attributes (device, site,
# rule, severity, event) arrive as SQS message attributes. SSE-SQS rather than a
# customer managed key: SNS delivers to an SSE-KMS queue only if that key's policy
# admits sns.amazonaws.com, and every reader would need kms:Decrypt on it too; with
# SSE-SQS the queue policy alone decides who sends and reads.
resource "aws_sqs_queue" "alerts" {
  name                      = local.alerts_queue_name
  message_retention_seconds = var.alerts.queue_message_retention_seconds
  sqs_managed_sse_enabled   = true
  policy                    = data.aws_iam_policy_document.alerts_queue.json
  tags                      = var.tags
}

data "aws_iam_policy_document" "alerts_queue" {
  statement {
    sid       = "TopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [local.alerts_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.alerts.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.alerts_queue_arn]

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

resource "aws_sns_topic_subscription" "alerts_queue" {
  topic_arn            = aws_sns_topic.alerts.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.alerts.arn
  raw_message_delivery = true
}
