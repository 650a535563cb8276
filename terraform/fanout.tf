# Fanout: the telemetry stream's enhanced fan-out consumer feeds the dispatcher, which
# routes records to worker functions by async Invoke (terraform/modules/fanout). Built
# when fanout.enabled and all its packages are given (dispatcher_package_path,
# device_state_package_path, alerts_package_path, archive_package_path). The archive
# bucket is emptied on destroy only in the local stack (its state is thrown away).

locals {
  fanout_enabled = var.fanout.enabled && alltrue([for path in [
    var.dispatcher_package_path, var.device_state_package_path, var.alerts_package_path,
    var.archive_package_path,
  ] : path != null])
}

module "fanout" {
  source = "./modules/fanout"
  count  = local.fanout_enabled ? 1 : 0

  name_prefix                 = var.prefix
  global_name_prefix          = local.global_name_prefix
  metrics_namespace           = local.metrics_namespace
  runtime                     = var.lambda_runtime
  architecture                = var.lambda_architecture
  layers                      = local.dependency_layers
  log_level                   = var.log_level
  log_retention_in_days       = var.log_retention_in_days
  kms_deletion_window_in_days = var.kms_deletion_window_in_days
  live_aliases                = var.live_aliases

  stream_arn               = module.stream.stream_arn
  stream_kms_key_arn       = module.stream.kms_key_arn
  consumer_name            = var.fanout.consumer_name
  stream_failure_queue_arn = module.stream.failure_queue_arn
  quarantine = {
    table_name     = module.quarantine_storage.table_name
    table_arn      = module.quarantine_storage.table_arn
    kms_key_arn    = module.quarantine_storage.kms_key_arn
    retention_days = var.quarantine_retention_days
  }

  dispatcher = merge(var.fanout.dispatcher, {
    package_path         = var.dispatcher_package_path
    package_base64sha256 = var.dispatcher_package_base64sha256
  })
  routes = var.fanout.routes
  device_state = merge(var.fanout.device_state, {
    package_path              = var.device_state_package_path
    package_base64sha256      = var.device_state_package_base64sha256
    table_deletion_protection = var.aggregates_table_deletion_protection
  })
  alerts = merge(var.fanout.alerts, {
    package_path              = var.alerts_package_path
    package_base64sha256      = var.alerts_package_base64sha256
    table_deletion_protection = var.aggregates_table_deletion_protection
  })
  archive = merge(var.fanout.archive, {
    force_destroy        = coalesce(var.fanout.archive.force_destroy, var.local_stack)
    package_path         = var.archive_package_path
    package_base64sha256 = var.archive_package_base64sha256
  })
}
