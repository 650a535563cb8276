variable "alarm_thresholds" {
  description = "Alarm thresholds and evaluation (terraform/modules/alarms): period_seconds (a multiple of 60), evaluation_periods, iterator_age_ms, and per-period counts for function_errors, function_throttles, failure_queue_depth, records_quarantined, batch_head_failed, quarantine_write_failed, dynamodb_throttles, kinesis_write_throttles."
  type = object({
    period_seconds          = optional(number, 60)
    evaluation_periods      = optional(number, 1)
    iterator_age_ms         = optional(number, 60000)
    function_errors         = optional(number, 1)
    function_throttles      = optional(number, 1)
    failure_queue_depth     = optional(number, 1)
    records_quarantined     = optional(number, 100)
    batch_head_failed       = optional(number, 1)
    quarantine_write_failed = optional(number, 1)
    dynamodb_throttles      = optional(number, 1)
    kinesis_write_throttles = optional(number, 1)
  })
  default = {}

  validation {
    condition     = var.alarm_thresholds.period_seconds >= 60 && var.alarm_thresholds.period_seconds % 60 == 0
    error_message = "alarm_thresholds.period_seconds must be a multiple of 60: every alarmed metric is standard resolution."
  }
}
