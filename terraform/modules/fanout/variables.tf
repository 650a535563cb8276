# ---------------------------------------------------------------------------
# Names and shared settings
# ---------------------------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of regional resource names: <name_prefix>-dispatcher, <name_prefix>-<worker> (function, table, topic, queue), <name_prefix>-<worker>-failures, <name_prefix>_archive (Glue database)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-32 lowercase letters, digits or hyphens."
  }
}

variable "global_name_prefix" {
  description = "Prefix of account-global names (IAM roles, the archive bucket <prefix>-archive-<account id>), carrying the environment: <prefix>-<environment>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}[a-z0-9]$", var.global_name_prefix))
    error_message = "global_name_prefix must be lowercase letters, digits or hyphens."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch metrics namespace of the functions (Powertools)."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime of both functions."
  type        = string
  default     = "python3.12"
}

variable "architecture" {
  description = "Lambda architecture of both functions (x86_64 or arm64)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "layers" {
  description = "Layer ARNs of both functions (the dependencies layer)."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "LOG_LEVEL of both functions."
  type        = string
  default     = "INFO"
}

variable "log_retention_in_days" {
  description = "Retention of the functions' log groups, in days."
  type        = number
  default     = 30
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the module's KMS keys (tables, alerts topic, archive bucket) are deleted (7 to 30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be from 7 to 30."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------
# The stream, its failure queue and the quarantine table (created elsewhere)
# ---------------------------------------------------------------------------

variable "stream_arn" {
  description = "ARN of the telemetry Kinesis stream the EFO consumer is registered on."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kinesis:[a-z0-9-]+:[0-9]+:stream/[A-Za-z0-9_.-]+$", var.stream_arn))
    error_message = "stream_arn must be a Kinesis stream ARN."
  }
}

variable "stream_kms_key_arn" {
  description = "KMS key of the stream; the dispatcher's role decrypts records with it through Kinesis."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:", var.stream_kms_key_arn))
    error_message = "stream_kms_key_arn must be a KMS key ARN."
  }
}

variable "consumer_name" {
  description = "Name of the enhanced fan-out consumer registered on the stream."
  type        = string
  default     = "fanout"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,128}$", var.consumer_name))
    error_message = "consumer_name must be 1-128 letters, digits, _ . or -."
  }
}

variable "stream_failure_queue_arn" {
  description = "On-failure destination of the dispatcher's mapping (the stream's failure queue, which `shardline dlq` replays)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:sqs:", var.stream_failure_queue_arn))
    error_message = "stream_failure_queue_arn must be an SQS queue ARN."
  }
}

variable "quarantine" {
  description = "Quarantine table the dispatcher writes invalid user records to (as the aggregator does): name, ARN, KMS key ARN and retention in days."
  type = object({
    table_name     = string
    table_arn      = string
    kms_key_arn    = string
    retention_days = number
  })

  validation {
    condition     = can(regex("^arn:[a-z-]+:dynamodb:", var.quarantine.table_arn)) && can(regex("^arn:[a-z-]+:kms:", var.quarantine.kms_key_arn))
    error_message = "quarantine.table_arn must be a DynamoDB table ARN and quarantine.kms_key_arn a KMS key ARN."
  }
}

# ---------------------------------------------------------------------------
# Dispatcher
# ---------------------------------------------------------------------------

variable "dispatcher" {
  description = "The dispatcher function and its mapping on the EFO consumer (ranges from the Lambda API reference)."
  type = object({
    package_path                       = string
    package_base64sha256               = optional(string)
    memory_size                        = optional(number, 512)
    timeout                            = optional(number, 60)
    reserved_concurrent_executions     = optional(number)
    starting_position                  = optional(string, "TRIM_HORIZON")
    batch_size                         = optional(number, 500)
    maximum_batching_window_in_seconds = optional(number, 1)
    parallelization_factor             = optional(number, 1)
    bisect_batch_on_function_error     = optional(bool, true)
    maximum_retry_attempts             = optional(number, 5)
    maximum_record_age_in_seconds      = optional(number, 3600)
    max_payload_bytes                  = optional(number, 196608)
    invoke_concurrency                 = optional(number, 8)
  })

  validation {
    condition     = var.dispatcher.batch_size >= 1 && var.dispatcher.batch_size <= 10000 && var.dispatcher.maximum_batching_window_in_seconds >= 0 && var.dispatcher.maximum_batching_window_in_seconds <= 300
    error_message = "dispatcher.batch_size must be 1-10000 and maximum_batching_window_in_seconds 0-300."
  }

  validation {
    condition     = var.dispatcher.parallelization_factor >= 1 && var.dispatcher.parallelization_factor <= 10
    error_message = "dispatcher.parallelization_factor must be 1-10."
  }

  validation {
    condition     = var.dispatcher.maximum_retry_attempts >= -1 && var.dispatcher.maximum_retry_attempts <= 10000 && (var.dispatcher.maximum_record_age_in_seconds == -1 || (var.dispatcher.maximum_record_age_in_seconds >= 60 && var.dispatcher.maximum_record_age_in_seconds <= 604800))
    error_message = "dispatcher.maximum_retry_attempts must be -1 to 10000 and maximum_record_age_in_seconds -1 or 60-604800."
  }

  validation {
    # An on-failure record carries the whole requestPayload and must fit an SQS message
    # (256 KB) with its context: lambdas/dispatcher/config.py.
    condition     = var.dispatcher.max_payload_bytes >= 4096 && var.dispatcher.max_payload_bytes <= 229376
    error_message = "dispatcher.max_payload_bytes must be 4096-229376 (the worker's on-failure record must fit a 256 KB SQS message)."
  }

  validation {
    condition     = var.dispatcher.invoke_concurrency >= 1 && var.dispatcher.invoke_concurrency <= 64
    error_message = "dispatcher.invoke_concurrency must be 1-64."
  }
}

variable "routes" {
  description = "Routing table: which workers get which records, by fnmatch patterns on metric names, sites and devices (default [\"*\"]); a record goes to every worker whose route matches."
  type = list(object({
    worker  = string
    metrics = optional(list(string), ["*"])
    sites   = optional(list(string), ["*"])
    devices = optional(list(string), ["*"])
  }))
  # Every worker gets every record: the archive keeps all of them, device state tracks
  # every metric, and alert rules can name any metric (the worker ignores the others).
  default = [{ worker = "device_state" }, { worker = "alerts" }, { worker = "archive" }]

  validation {
    condition     = length(var.routes) > 0 && alltrue([for route in var.routes : contains(["device_state", "alerts", "archive"], route.worker)])
    error_message = "routes must name known workers: device_state, alerts, archive."
  }

  validation {
    condition     = alltrue([for route in var.routes : alltrue([for patterns in [route.metrics, route.sites, route.devices] : length(patterns) > 0 && alltrue([for pattern in patterns : length(pattern) > 0])])])
    error_message = "Each route's metrics, sites and devices must be non-empty lists of non-empty patterns."
  }
}

# ---------------------------------------------------------------------------
# device-state worker
# ---------------------------------------------------------------------------

variable "device_state" {
  description = "The device-state worker: its package, size, async invoke settings (retries 0-2, maximum event age 60-21600 s) and when a silent device counts as offline."
  type = object({
    package_path                   = string
    package_base64sha256           = optional(string)
    memory_size                    = optional(number, 256)
    timeout                        = optional(number, 30)
    reserved_concurrent_executions = optional(number)
    maximum_retry_attempts         = optional(number, 2)
    maximum_event_age_in_seconds   = optional(number, 3600)
    offline_after_seconds          = optional(number, 300)
    table_deletion_protection      = optional(bool, true)
  })

  validation {
    condition     = var.device_state.maximum_retry_attempts >= 0 && var.device_state.maximum_retry_attempts <= 2
    error_message = "device_state.maximum_retry_attempts must be 0-2 (Lambda's async retries)."
  }

  validation {
    condition     = var.device_state.maximum_event_age_in_seconds >= 60 && var.device_state.maximum_event_age_in_seconds <= 21600
    error_message = "device_state.maximum_event_age_in_seconds must be 60-21600."
  }

  validation {
    condition     = var.device_state.offline_after_seconds >= 1 && var.device_state.offline_after_seconds <= 604800
    error_message = "device_state.offline_after_seconds must be 1-604800."
  }
}

variable "worker_failure_queue_message_retention_seconds" {
  description = "How long the workers' failure queues keep a failed event (60 s to 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.worker_failure_queue_message_retention_seconds >= 60 && var.worker_failure_queue_message_retention_seconds <= 1209600
    error_message = "worker_failure_queue_message_retention_seconds must be 60-1209600."
  }
}
