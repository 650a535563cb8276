# Operations: CloudWatch alarms on every part of the pipeline, notifying one encrypted
# SNS topic, and a dashboard (terraform/modules/alarms). Optional parts (rollup,
# scheduled rollup, fanout) get their alarms when they are built.

locals {
  fanout_outputs = one(module.fanout[*])

  pipeline_stream_functions = compact(concat(
    [module.aggregator.function_name],
    module.rollup[*].function_name,
    local.fanout_outputs == null ? [] : [local.fanout_outputs.dispatcher_function_name],
  ))
  pipeline_functions = compact(concat(
    local.pipeline_stream_functions,
    module.scheduled_rollup[*].function_name,
    local.fanout_outputs == null ? [] : [
      local.fanout_outputs.device_state_function_name,
      local.fanout_outputs.alerts_function_name,
      local.fanout_outputs.archive_function_name,
    ],
  ))
  pipeline_tables = compact(concat(
    [module.storage.table_name, module.quarantine_storage.table_name],
    local.fanout_outputs == null ? [] : [
      local.fanout_outputs.device_state_table_name,
      local.fanout_outputs.alert_state_table_name,
    ],
  ))
  pipeline_failure_queues = merge(
    {
      stream_failures     = module.stream.failure_queue_name
      stream_failures_dlq = reverse(split("/", module.stream.failure_dlq_url))[0]
    },
    local.fanout_outputs == null ? {} : {
      for name, queue in local.fanout_outputs.worker_failure_queues : "${name}_failures" => queue.name
    },
  )
}

module "alarms" {
  source = "./modules/alarms"

  name_prefix                 = var.prefix
  metrics_namespace           = local.metrics_namespace
  thresholds                  = var.alarm_thresholds
  function_names              = local.pipeline_functions
  stream_function_names       = local.pipeline_stream_functions
  failure_queue_names         = local.pipeline_failure_queues
  table_names                 = local.pipeline_tables
  stream_name                 = module.stream.stream_name
  kms_deletion_window_in_days = var.kms_deletion_window_in_days
}
