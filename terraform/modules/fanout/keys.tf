# Customer managed keys of the alerts topic (used through SNS) and the archive bucket
# (used through S3), from modules/kms_key like the table keys: the account administers
# the key, and principals of this account may use it only through its service and only
# when their own IAM policies allow it too (the account-root principal delegates to IAM).
# So the alerts role's own statements (iam.tf) are what let it publish, and the key
# policy need not name a role that is created after the key.

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
}

module "service_key" {
  source   = "../kms_key"
  for_each = local.service_keys

  alias                   = each.value.alias
  description             = each.value.description
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags
  usage_statements = [{
    sid         = "UseThroughService"
    actions     = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"]
    via_service = each.value.via_service
  }]
}

# The keys and aliases moved into modules/kms_key: a state move, never a new key (the
# archive's objects are encrypted with it).
moved {
  from = aws_kms_key.service["alerts_topic"]
  to   = module.service_key["alerts_topic"].aws_kms_key.this
}

moved {
  from = aws_kms_alias.service["alerts_topic"]
  to   = module.service_key["alerts_topic"].aws_kms_alias.this
}

moved {
  from = aws_kms_key.service["archive"]
  to   = module.service_key["archive"].aws_kms_key.this
}

moved {
  from = aws_kms_alias.service["archive"]
  to   = module.service_key["archive"].aws_kms_alias.this
}
