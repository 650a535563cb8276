# Example for a real AWS account: `make deploy ENV=prod`. Adjust region and tags.
region      = "eu-west-1"
environment = "prod"

tags = {
  CostCenter = "iot-platform"
}

# Refuse to plan or apply against any account but the production one: set its id
# (empty or unset = any account).
# allowed_account_ids = ["123456789012"]

stream_mode            = "ON_DEMAND"
stream_retention_hours = 168 # a week to replay failed batches

aggregates_table_deletion_protection = true
kms_deletion_window_in_days          = 30

aggregator_package_path = "../dist/lambda/aggregator.zip"
log_level               = "INFO"
log_retention_in_days   = 365 # a year of function logs for incident review

aggregator = {
  memory_size                        = 1024
  timeout                            = 120
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = 1000
  maximum_batching_window_in_seconds = 5
  tumbling_window_in_seconds         = 60
  parallelization_factor             = 1 # must stay 1 with a tumbling window
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = 5
  maximum_record_age_in_seconds      = 21600
}

# Minute data (partials, totals) for a month; roll-ups for two years.
aggregates_retention_days = {
  minute = 35
  rollup = 731
}

# Every function and the dependencies layer. `make deploy` builds the layer for these
# (shardline package --with-dependencies --var-file envs/prod.tfvars) and passes it with
# dist/lambda/packages.tfvars.json; plan fails without a layer. A layer built elsewhere:
# dependencies_layer_arns = ["arn:aws:lambda:eu-west-1:123456789012:layer:shardline-deps:1"]
lambda_runtime      = "python3.12"
lambda_architecture = "x86_64"

# -- rollups --
rollup_package_path = "../dist/lambda/rollup.zip"
rollup = {
  memory_size                        = 256
  batch_size                         = 1000
  maximum_batching_window_in_seconds = 5
  maximum_retry_attempts             = 10
  maximum_record_age_in_seconds      = 21600
}

# -- scheduled rollup --
scheduled_rollup_package_path = "../dist/lambda/scheduled_rollup.zip"
scheduled_rollup = {
  schedule_expression = "rate(5 minutes)"
  settle_seconds      = 60
  max_hours_per_run   = 24
  memory_size         = 1024
  timeout             = 240
}

# -- quarantine --
quarantine_table_deletion_protection = true
quarantine_retention_days            = 14

# -- alarms (modules/alarms) --
# Production pages on sustained trouble: three one-minute periods in a row, a minute of
# consumer lag. Any record that reaches a failure queue, or fails to be quarantined, is
# data at risk and alarms at once; a few throttles are retried by the SDK and are not.
alarm_thresholds = {
  period_seconds          = 60
  evaluation_periods      = 3
  iterator_age_ms         = 60000
  function_errors         = 1
  function_throttles      = 5
  failure_queue_depth     = 1
  records_quarantined     = 100
  batch_head_failed       = 1
  quarantine_write_failed = 1
  dynamodb_throttles      = 5
  kinesis_write_throttles = 10
}

# -- fanout: EFO consumer -> dispatcher -> device-state, alerts and archive workers --
dispatcher_package_path   = "../dist/lambda/dispatcher.zip"
device_state_package_path = "../dist/lambda/device_state.zip"
alerts_package_path       = "../dist/lambda/alerts.zip"
archive_package_path      = "../dist/lambda/archive.zip"
fanout = {
  enabled = true
  dispatcher = {
    batch_size                         = 1000
    maximum_batching_window_in_seconds = 1
    maximum_retry_attempts             = 10
    maximum_record_age_in_seconds      = 21600
  }
  routes = [{ worker = "device_state" }, { worker = "alerts" }, { worker = "archive" }]
  device_state = {
    maximum_retry_attempts       = 2
    maximum_event_age_in_seconds = 21600
    offline_after_seconds        = 300
  }
  archive = {
    retention_days = 400
  }
}

# -- HTTP query API (GET /query, IAM-authorized; terraform/query_api.tf) --
query_package_path = "../dist/lambda/query.zip"
query_api = {
  enabled                = true
  throttling_burst_limit = 100
  throttling_rate_limit  = 50
  cors_allow_origins     = []
  memory_size            = 1024
}
