# Plan-only tests of the quarantine store and its wiring into the aggregator, with a
# mocked AWS provider. Needs Terraform >= 1.11 (override_during).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  aggregator_package_path         = "aggregator.zip"
  aggregator_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  # A dependencies layer built elsewhere (plan fails without one; see layers.tf).
  dependencies_layer_arns = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
}

run "quarantine_table_is_named_after_the_prefix" {
  command = plan

  assert {
    condition     = output.quarantine_table_name == "shardline-quarantine"
    error_message = "The quarantine table must be named <prefix>-quarantine."
  }
}

run "quarantine_table_is_encrypted_recoverable_and_expiring" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    table_name     = "shardline-quarantine"
    stream_enabled = false
  }

  assert {
    condition     = aws_dynamodb_table.this.server_side_encryption[0].enabled
    error_message = "The quarantine table must be encrypted with its KMS key."
  }

  assert {
    condition     = aws_dynamodb_table.this.point_in_time_recovery[0].enabled
    error_message = "Point-in-time recovery must be on for the quarantine table."
  }

  assert {
    condition     = one(aws_dynamodb_table.this.ttl[*].attribute_name) == "expires_at" && one(aws_dynamodb_table.this.ttl[*].enabled)
    error_message = "Quarantined records must expire through TTL on expires_at."
  }

  assert {
    condition     = !aws_dynamodb_table.this.stream_enabled
    error_message = "With stream_enabled = false the table has no stream."
  }
}

run "aggregator_knows_the_quarantine_table" {
  command = plan

  variables {
    prefix                    = "acme"
    quarantine_retention_days = 7
  }

  assert {
    condition     = local.quarantine_writer_environment["QUARANTINE_TABLE"] == "acme-quarantine"
    error_message = "The aggregator must get the quarantine table's name in QUARANTINE_TABLE."
  }

  assert {
    condition     = local.quarantine_writer_environment["QUARANTINE_RETENTION_DAYS"] == "7"
    error_message = "The aggregator must get the retention in QUARANTINE_RETENTION_DAYS."
  }
}

run "rejects_quarantine_retention_0" {
  command = plan

  variables {
    quarantine_retention_days = 0
  }

  expect_failures = [var.quarantine_retention_days]
}
