# Embedded AWS (moto) on one machine: `shardline local up` / `make demo`.
# The endpoint comes from AWS_ENDPOINT_URL; credentials are dummies.
local_stack = true
region      = "us-east-1"
environment = "local"

stream_mode            = "PROVISIONED"
shard_count            = 2
stream_retention_hours = 24

aggregates_table_deletion_protection = false
kms_deletion_window_in_days          = 7

# The local runtime runs the handlers with the project's own Python environment, so the
# functions need no dependencies layer here (on AWS, plan fails without one).
dependencies_provided_by_runtime = true

# Relative to terraform/; `make package` writes it.
aggregator_package_path = "../dist/lambda/aggregator.zip"
log_level               = "DEBUG"
log_retention_in_days   = 1

# The tests and their fixtures replay fixed event times (late 2025): with a short
# retention their items would be born expired. `shardline local up` data is current.
aggregates_retention_days = {
  minute = 1825
  rollup = 3650
}

aggregator = {
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = 500
  maximum_batching_window_in_seconds = 1
  tumbling_window_in_seconds         = 10
  parallelization_factor             = 1
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = 3
  maximum_record_age_in_seconds      = 3600
}

# -- rollups --
rollup_package_path = "../dist/lambda/rollup.zip"
rollup = {
  batch_size                         = 500
  maximum_batching_window_in_seconds = 1
  maximum_retry_attempts             = 3
}

# -- scheduled rollup --
scheduled_rollup_package_path = "../dist/lambda/scheduled_rollup.zip"
scheduled_rollup = {
  schedule_expression = "rate(5 minutes)"
  # moto's index is consistent at once; on AWS keep the default (60 s).
  settle_seconds = 0
}

# -- quarantine --
quarantine_table_deletion_protection = false
quarantine_retention_days            = 14

# -- fanout: EFO consumer -> dispatcher -> device-state, alerts and archive workers --
dispatcher_package_path   = "../dist/lambda/dispatcher.zip"
device_state_package_path = "../dist/lambda/device_state.zip"
alerts_package_path       = "../dist/lambda/alerts.zip"
archive_package_path      = "../dist/lambda/archive.zip"
fanout = {
  enabled = true
  dispatcher = {
    batch_size = 500
    # Each worker's writes per device scale with payloads per second, not readings: a
    # 5 s window folds 5 s of a device's readings into one write per item. The embedded
    # DynamoDB serves ~80 requests/s on 2 cores; with 1 s the workers asked ~160/s for
    # 20 devices (docs/local-runtime.md, "Long runs").
    maximum_batching_window_in_seconds = 5
    maximum_retry_attempts             = 3
    maximum_record_age_in_seconds      = 3600
  }
  routes = [{ worker = "device_state" }, { worker = "alerts" }, { worker = "archive" }]
  device_state = {
    maximum_retry_attempts       = 2
    maximum_event_age_in_seconds = 3600
    offline_after_seconds        = 300
  }
  archive = {
    retention_days = 7
  }
}

# -- HTTP query API (GET /query, IAM-authorized; terraform/query_api.tf) --
query_package_path = "../dist/lambda/query.zip"
query_api = {
  enabled                = true
  throttling_burst_limit = 20
  throttling_rate_limit  = 10
  cors_allow_origins     = ["http://localhost:4567", "http://127.0.0.1:4567"]
}
