data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_root_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  dynamodb_service = "dynamodb.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"

  index_key_attributes = sort(distinct([
    for key in flatten([for index in var.global_secondary_indexes : [index.hash_key, index.range_key]]) :
    key if key != null && key != var.hash_key && key != var.range_key
  ]))
}

resource "aws_kms_key" "table" {
  description             = "Encrypts the ${var.table_name} DynamoDB table and its stream"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.table_key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "table" {
  name          = "alias/${var.table_name}"
  target_key_id = aws_kms_key.table.key_id
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
    kms_key_arn = aws_kms_key.table.arn
  }

  tags = var.tags
}
