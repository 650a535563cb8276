variable "name_prefix" {
  type        = string
  description = "Prefix of the alarm names, the alarm topic, its key alias and the dashboard (e.g. shardline-dev)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,200}$", var.name_prefix))
    error_message = "name_prefix must be 1-200 letters, digits, hyphens or underscores (it starts SNS topic and dashboard names)."
  }
}

variable "metrics_namespace" {
  type        = string
  description = "CloudWatch namespace of the functions' own metrics (POWERTOOLS_METRICS_NAMESPACE)."
}

variable "thresholds" {
  description = "Alarm thresholds. Counts are per period (Sum); iterator age is the maximum in milliseconds; queue depth is the most messages visible."
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
    # Standard-resolution metrics (every metric alarmed here) take periods of whole
    # minutes; 10 and 30 s periods are for high-resolution custom metrics only.
    condition     = var.thresholds.period_seconds >= 60 && var.thresholds.period_seconds % 60 == 0
    error_message = "thresholds.period_seconds must be a multiple of 60 (standard-resolution metrics)."
  }

  validation {
    # CloudWatch: evaluation periods x period may not exceed one day.
    condition     = var.thresholds.evaluation_periods >= 1 && var.thresholds.evaluation_periods * var.thresholds.period_seconds <= 86400
    error_message = "thresholds.evaluation_periods must be >= 1 and evaluation_periods x period_seconds at most 86400."
  }

  validation {
    condition = alltrue([for value in [
      var.thresholds.iterator_age_ms, var.thresholds.function_errors,
      var.thresholds.function_throttles, var.thresholds.failure_queue_depth,
      var.thresholds.records_quarantined, var.thresholds.batch_head_failed,
      var.thresholds.quarantine_write_failed, var.thresholds.dynamodb_throttles,
      var.thresholds.kinesis_write_throttles,
    ] : value >= 1])
    error_message = "Every threshold must be at least 1 (a threshold of 0 with >= would alarm on every datapoint)."
  }
}

variable "function_names" {
  type        = list(string)
  description = "Every function of the pipeline: errors and throttles alarms."
}

variable "stream_function_names" {
  type        = list(string)
  description = "Functions with a Kinesis or DynamoDB-stream event source mapping: iterator age alarms."
}

variable "failure_queue_names" {
  type        = map(string)
  description = "Failure destinations and dead-letter queues, logical name -> queue name: depth alarms."
}

variable "aggregator_service" {
  type        = string
  description = "Powertools service name (the service dimension) of the aggregator's metrics."
  default     = "aggregator"
}

variable "quarantine_services" {
  type        = list(string)
  description = "Powertools service names of the functions that quarantine records (RecordsQuarantined, QuarantineWriteFailed)."
  default     = ["aggregator", "dispatcher"]
}

variable "table_names" {
  type        = list(string)
  description = "DynamoDB tables the pipeline reads and writes: throttle alarms."
}

variable "stream_name" {
  type        = string
  description = "Kinesis stream producers write to: WriteProvisionedThroughputExceeded alarm."
}

variable "kms_deletion_window_in_days" {
  type        = number
  description = "Waiting period before the alarm topic's key is deleted."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be between 7 and 30 (AWS KMS)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for the topic, its key and the alarms."
  default     = {}
}
