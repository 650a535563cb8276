# Key policy of the stream key. Administration goes to the account (so IAM policies
# decide who manages the key); use of the key is allowed only through Kinesis, for
# principals of this account whose IAM policies also allow it.
data "aws_iam_policy_document" "stream_key" {
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

  statement {
    sid = "UseThroughKinesis"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kinesis_service]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

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
