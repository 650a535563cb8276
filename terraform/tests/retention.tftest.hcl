# Retention (DynamoDB TTL of the aggregates, log groups) and account guard variables:
# what reaches the functions, and what the validations refuse. Mocked AWS provider.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  aggregator_package_path               = "aggregator.zip"
  aggregator_package_base64sha256       = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  rollup_package_path                   = "rollup.zip"
  rollup_package_base64sha256           = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  scheduled_rollup_package_path         = "scheduled_rollup.zip"
  scheduled_rollup_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  # A dependencies layer built elsewhere (plan fails without one; see layers.tf).
  dependencies_layer_arns = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
}

run "retention_reaches_the_functions_that_write_each_item_kind" {
  command = plan

  variables {
    aggregates_retention_days = { minute = 10, rollup = 400 }
  }

  assert {
    condition     = module.aggregator.settings.environment_variables["MINUTE_RETENTION_DAYS"] == "10" && module.rollup[0].settings.environment_variables["MINUTE_RETENTION_DAYS"] == "10"
    error_message = "The aggregator (partials) and the rollup (minute totals) must get the minute retention."
  }

  assert {
    condition     = module.scheduled_rollup[0].settings.environment_variables["ROLLUP_RETENTION_DAYS"] == "400" && module.scheduled_rollup[0].settings.environment_variables["MINUTE_RETENTION_DAYS"] == "10"
    error_message = "The scheduled rollup must get the roll-up retention (and the minute one, to leave expiring hours alone)."
  }
}

run "retention_defaults_keep_rollups_longer" {
  command = plan

  assert {
    condition     = module.aggregator.settings.environment_variables["MINUTE_RETENTION_DAYS"] == "30" && module.scheduled_rollup[0].settings.environment_variables["ROLLUP_RETENTION_DAYS"] == "365"
    error_message = "Defaults: a month of minute data, a year of roll-ups."
  }
}

run "rejects_rollup_retention_not_longer_than_minutes" {
  command = plan

  variables {
    aggregates_retention_days = { minute = 30, rollup = 30 }
  }

  expect_failures = [var.aggregates_retention_days]
}

run "rejects_zero_day_retention" {
  command = plan

  variables {
    aggregates_retention_days = { minute = 0, rollup = 30 }
  }

  expect_failures = [var.aggregates_retention_days]
}

run "rejects_fractional_retention" {
  command = plan

  variables {
    aggregates_retention_days = { minute = 1.5, rollup = 30 }
  }

  expect_failures = [var.aggregates_retention_days]
}

run "rejects_log_retention_cloudwatch_does_not_offer" {
  command = plan

  variables {
    log_retention_in_days = 2
  }

  expect_failures = [var.log_retention_in_days]
}

run "rejects_account_ids_that_are_not_12_digits" {
  command = plan

  variables {
    allowed_account_ids = ["12345678901", "arn:aws:iam::123456789012:root"]
  }

  expect_failures = [var.allowed_account_ids]
}

run "accepts_12_digit_account_ids" {
  command = plan

  variables {
    allowed_account_ids = ["123456789012"]
  }
}
