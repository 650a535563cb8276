# Plan-only tests of modules/storage on its own. Needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  table_name = "shardline-aggregates"
}

run "aggregates_table_shape" {
  command = plan

  module {
    source = "./modules/storage"
  }

  assert {
    condition     = aws_dynamodb_table.this.billing_mode == "PAY_PER_REQUEST"
    error_message = "The table must be on-demand."
  }

  assert {
    condition     = aws_dynamodb_table.this.hash_key == "PK" && aws_dynamodb_table.this.range_key == "SK"
    error_message = "Keys must be PK (hash) and SK (range)."
  }

  assert {
    condition     = aws_dynamodb_table.this.stream_enabled && aws_dynamodb_table.this.stream_view_type == "NEW_AND_OLD_IMAGES"
    error_message = "The table stream must carry new and old images."
  }

  assert {
    condition     = aws_dynamodb_table.this.point_in_time_recovery[0].enabled
    error_message = "Point-in-time recovery must be on."
  }

  assert {
    condition     = aws_dynamodb_table.this.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.this.ttl[0].enabled
    error_message = "TTL must be on, on expires_at."
  }

  assert {
    condition     = aws_dynamodb_table.this.server_side_encryption[0].enabled && module.key.rotation_enabled
    error_message = "The table must be encrypted with a rotating customer-managed key."
  }

  assert {
    condition     = aws_dynamodb_table.this.deletion_protection_enabled
    error_message = "Deletion protection must be on by default."
  }
}

run "deletion_protection_can_be_turned_off" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    deletion_protection_enabled = false
  }

  assert {
    condition     = aws_dynamodb_table.this.deletion_protection_enabled == false
    error_message = "deletion_protection_enabled must be passed through."
  }
}

run "global_secondary_indexes_declare_their_keys_once" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    global_secondary_indexes = [
      { name = "by_hour", hash_key = "GSI1PK", range_key = "GSI1SK", projection_type = "INCLUDE", non_key_attributes = ["count"] },
      { name = "by_hour_keys", hash_key = "GSI1PK", projection_type = "KEYS_ONLY" },
    ]
  }

  assert {
    condition     = toset([for attribute in aws_dynamodb_table.this.attribute : attribute.name]) == toset(["PK", "SK", "GSI1PK", "GSI1SK"])
    error_message = "Each index key must be declared once, beside the table keys."
  }
}

run "rejects_include_without_attributes" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    global_secondary_indexes = [{ name = "by_hour", hash_key = "GSI1PK", projection_type = "INCLUDE" }]
  }

  expect_failures = [var.global_secondary_indexes]
}

run "rejects_unknown_stream_view_type" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    stream_view_type = "FULL"
  }

  expect_failures = [var.stream_view_type]
}
