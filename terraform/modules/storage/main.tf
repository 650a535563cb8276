data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  dynamodb_service = "dynamodb.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"

  index_key_attributes = sort(distinct([
    for key in flatten([for index in var.global_secondary_indexes : [index.hash_key, index.range_key]]) :
    key if key != null && key != var.hash_key && key != var.range_key
  ]))
}

# The table key. Use is allowed only through DynamoDB, for principals of this account
# whose IAM policies also allow it: DynamoDB decrypts the table key with the permissions
# of whoever reads or writes the table or its stream, so each of them needs kms:Decrypt
# on this key (through DynamoDB) in its own IAM policy.
module "key" {
  source = "../kms_key"

  alias                   = "alias/${var.table_name}"
  description             = "Encrypts the ${var.table_name} DynamoDB table and its stream"
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags
  usage_statements = [{
    sid         = "UseThroughDynamoDB"
    actions     = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    via_service = local.dynamodb_service
  }]
}

# The key and its alias moved into modules/kms_key: a state move, never a new key (the
# table's items are encrypted with it).
moved {
  from = aws_kms_key.table
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.table
  to   = module.key.aws_kms_alias.this
}

resource "aws_dynamodb_table" "this" {
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.hash_key
  range_key                   = var.range_key
  stream_enabled              = var.stream_enabled
  stream_view_type            = var.stream_enabled ? var.stream_view_type : null
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = var.hash_key
    type = "S"
  }

  attribute {
    name = var.range_key
    type = "S"
  }

  # Index keys are strings too; each is declared once, whichever indexes share it.
  dynamic "attribute" {
    for_each = local.index_key_attributes

    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.global_secondary_indexes

    content {
      name               = global_secondary_index.value.name
      hash_key           = global_secondary_index.value.hash_key
      range_key          = global_secondary_index.value.range_key
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.projection_type == "INCLUDE" ? global_secondary_index.value.non_key_attributes : null
    }
  }

  ttl {
    attribute_name = var.ttl_attribute_name
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.key.arn
  }

  tags = var.tags
}
