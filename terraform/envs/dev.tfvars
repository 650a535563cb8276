# A development account on real AWS: `make deploy ENV=dev`. Smaller and cheaper than prod:
# short retention everywhere, no deletion protection, provisioned single shard.
region      = "eu-west-1"
environment = "dev"

tags = {
  CostCenter = "iot-platform"
}

# Refuse to plan or apply against any account but the development one: set its id
# (empty or unset = any account).
# allowed_account_ids = ["210987654321"]

stream_mode            = "PROVISIONED"
shard_count            = 1
stream_retention_hours = 24

aggregates_table_deletion_protection = false
kms_deletion_window_in_days          = 7

aggregator_package_path = "../dist/lambda/aggregator.zip"
log_level               = "DEBUG"
log_retention_in_days   = 7 # a week: dev logs are for debugging, not audit

aggregator = {
  memory_size                        = 512
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

# Minute data (partials, totals) for a week; roll-ups for a quarter.
aggregates_retention_days = {
  minute = 7
  rollup = 90
}

# Every function and the dependencies layer. `make deploy` builds the layer for these
# (shardline package --with-dependencies --var-file envs/dev.tfvars) and passes it with
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
quarantine_table_deletion_protection = false
quarantine_retention_days            = 7

# -- alarms (modules/alarms) --
# Development alarms are for noticing, not paging: five-minute periods, five minutes of
# lag, and more errors and throttles tolerated (tests push bad data on purpose). Data at
# risk (failure queues, quarantine writes) still alarms at once.
alarm_thresholds = {
  period_seconds          = 300
  evaluation_periods      = 1
  iterator_age_ms         = 300000
  function_errors         = 10
  function_throttles      = 20
  failure_queue_depth     = 1
  records_quarantined     = 1000
  batch_head_failed       = 5
  quarantine_write_failed = 1
  dynamodb_throttles      = 50
  kinesis_write_throttles = 100
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
    retention_days = 30
  }
}

# -- HTTP query API (GET /query, IAM-authorized; terraform/query_api.tf) --
query_package_path = "../dist/lambda/query.zip"
query_api = {
  enabled                = true
  throttling_burst_limit = 20
  throttling_rate_limit  = 10
  cors_allow_origins     = []
}
