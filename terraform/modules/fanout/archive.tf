# The archive worker (lambdas/archive, docs/archive.md): every valid user record as
# gzipped JSON Lines under <prefix>dt=YYYY-MM-DD/hour=HH/ in an S3 bucket encrypted with
# its own customer managed key, and a Glue table over it for Athena (partition
# projection: no crawler, no MSCK REPAIR).

locals {
  archive_name = "${var.name_prefix}-archive"
  # Bucket names are global to all of S3: the environment and the account make it unique.
  archive_bucket_name = "${var.global_name_prefix}-archive-${data.aws_caller_identity.current.account_id}"
  # Glue names: lowercase letters, digits and underscores.
  archive_database = "${replace(var.name_prefix, "-", "_")}_archive"
  archive_table    = "raw_telemetry"
  archive_location = "s3://${local.archive_bucket_name}/${var.archive.prefix}"
}

resource "aws_s3_bucket" "archive" {
  #checkov:skip=CKV_AWS_18:Server access logs need a separate log bucket per account; CloudTrail data events are the audit trail of choice here.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per deployment; the stream can be replayed within its retention.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events: Athena reads through partition projection.
  bucket        = local.archive_bucket_name
  force_destroy = var.archive.force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = length(local.archive_bucket_name) <= 63 && can(regex("^[a-z0-9][a-z0-9-]*[a-z0-9]$", local.archive_bucket_name))
      error_message = "The archive bucket name <global_name_prefix>-archive-<account id> must be at most 63 lowercase letters, digits or hyphens: shorten the prefix or environment."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "archive" {
  bucket = aws_s3_bucket.archive.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "archive" {
  bucket                  = aws_s3_bucket.archive.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "archive" {
  bucket = aws_s3_bucket.archive.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "archive" {
  bucket = aws_s3_bucket.archive.id

  rule {
    # A bucket key: S3 asks KMS for a data key per bucket and period, not per object.
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.service_key["archive"].arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "archive" {
  bucket = aws_s3_bucket.archive.id

  rule {
    id     = "expire-archive"
    status = "Enabled"

    filter {}

    expiration {
      days = var.archive.retention_days
    }

    # A re-delivered payload overwrites its objects with the same bytes: the old version
    # is a copy, kept only briefly.
    noncurrent_version_expiration {
      noncurrent_days = var.archive.noncurrent_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.archive]
}

resource "aws_s3_bucket_policy" "archive" {
  bucket = aws_s3_bucket.archive.id
  policy = data.aws_iam_policy_document.archive_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.archive]
}

data "aws_iam_policy_document" "archive_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.archive.arn, "${aws_s3_bucket.archive.arn}/*"]

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
