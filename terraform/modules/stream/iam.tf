# Both queues refuse requests that are not made over TLS. The policies are set when the
# queues are created, so their ARNs are built from the names rather than read back.
data "aws_iam_policy_document" "queue_tls_only" {
  for_each = local.queue_arns

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

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
