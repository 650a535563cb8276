# ---------------------------------------------------------------------------
# Fanout: EFO consumer, dispatcher and workers (fanout.tf)
# ---------------------------------------------------------------------------

variable "dispatcher_package_path" {
  description = "Path of the dispatcher zip built by `make package`; the fanout is deployed only when this and the workers' packages (device_state_package_path, alerts_package_path, archive_package_path) are given (and fanout.enabled)."
  type        = string
  default     = null

  validation {
    condition     = var.dispatcher_package_path == null || can(regex("\\.zip$", var.dispatcher_package_path))
    error_message = "dispatcher_package_path must point to a .zip file."
  }
}

variable "dispatcher_package_base64sha256" {
  description = "Base64-encoded SHA-256 of the dispatcher zip; null computes it from the file."
  type        = string
  default     = null

  validation {
    condition     = var.dispatcher_package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.dispatcher_package_base64sha256))
    error_message = "dispatcher_package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}

variable "device_state_package_path" {
  description = "Path of the device-state worker zip built by `make package`."
  type        = string
  default     = null

  validation {
    condition     = var.device_state_package_path == null || can(regex("\\.zip$", var.device_state_package_path))
    error_message = "device_state_package_path must point to a .zip file."
  }
}

variable "device_state_package_base64sha256" {
  description = "Base64-encoded SHA-256 of the device-state zip; null computes it from the file."
  type        = string
  default     = null

  validation {
    condition     = var.device_state_package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.device_state_package_base64sha256))
    error_message = "device_state_package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}

variable "alerts_package_path" {
  description = "Path of the alerts worker zip built by `make package`."
  type        = string
  default     = null

  validation {
    condition     = var.alerts_package_path == null || can(regex("\\.zip$", var.alerts_package_path))
    error_message = "alerts_package_path must point to a .zip file."
  }
}

variable "alerts_package_base64sha256" {
  description = "Base64-encoded SHA-256 of the alerts worker zip; null computes it from the file."
  type        = string
  default     = null

  validation {
    condition     = var.alerts_package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.alerts_package_base64sha256))
    error_message = "alerts_package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}

variable "archive_package_path" {
  description = "Path of the archive worker zip built by `make package`."
  type        = string
  default     = null

  validation {
    condition     = var.archive_package_path == null || can(regex("\\.zip$", var.archive_package_path))
    error_message = "archive_package_path must point to a .zip file."
  }
}

variable "archive_package_base64sha256" {
  description = "Base64-encoded SHA-256 of the archive worker zip; null computes it from the file."
  type        = string
  default     = null

  validation {
    condition     = var.archive_package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.archive_package_base64sha256))
    error_message = "archive_package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}

variable "fanout" {
  description = "The fanout path (terraform/modules/fanout): EFO consumer name, the dispatcher's mapping and payload settings, the routing table (default: every record to every worker), the device-state worker's async settings and offline threshold, the alerts worker's rules and the archive's prefix and retention. Ranges as in the Lambda API reference; modules/fanout validates them (and the alert rules) too."
  type = object({
    enabled       = optional(bool, true)
    consumer_name = optional(string, "fanout")
    dispatcher = optional(object({
      memory_size                        = optional(number, 512)
      timeout                            = optional(number, 60)
      reserved_concurrent_executions     = optional(number)
      starting_position                  = optional(string, "TRIM_HORIZON")
      batch_size                         = optional(number, 500)
      maximum_batching_window_in_seconds = optional(number, 1)
      parallelization_factor             = optional(number, 1)
      maximum_retry_attempts             = optional(number, 5)
      maximum_record_age_in_seconds      = optional(number, 3600)
      max_payload_bytes                  = optional(number, 196608)
      invoke_concurrency                 = optional(number, 8)
    }), {})
    routes = optional(list(object({
      worker  = string
      metrics = optional(list(string), ["*"])
      sites   = optional(list(string), ["*"])
      devices = optional(list(string), ["*"])
    })), [{ worker = "device_state" }, { worker = "alerts" }, { worker = "archive" }])
    device_state = optional(object({
      memory_size                    = optional(number, 256)
      timeout                        = optional(number, 30)
      reserved_concurrent_executions = optional(number)
      maximum_retry_attempts         = optional(number, 2)
      maximum_event_age_in_seconds   = optional(number, 3600)
      offline_after_seconds          = optional(number, 300)
    }), {})
    # Defaults (rules included) live in modules/fanout's variable "alerts".
    alerts = optional(object({
      memory_size                     = optional(number)
      timeout                         = optional(number)
      reserved_concurrent_executions  = optional(number)
      maximum_retry_attempts          = optional(number)
      maximum_event_age_in_seconds    = optional(number)
      queue_message_retention_seconds = optional(number)
      rules = optional(list(object({
        name      = string
        metric    = string
        op        = string
        threshold = number
        for_count = optional(number, 1)
        severity  = optional(string, "warning")
      })))
    }), {})
    archive = optional(object({
      memory_size                    = optional(number)
      timeout                        = optional(number)
      reserved_concurrent_executions = optional(number)
      maximum_retry_attempts         = optional(number)
      maximum_event_age_in_seconds   = optional(number)
      prefix                         = optional(string)
      retention_days                 = optional(number)
      noncurrent_retention_days      = optional(number)
      force_destroy                  = optional(bool)
    }), {})
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.fanout.dispatcher.starting_position)
    error_message = "fanout.dispatcher.starting_position must be TRIM_HORIZON or LATEST."
  }

  validation {
    condition     = var.fanout.dispatcher.batch_size >= 1 && var.fanout.dispatcher.batch_size <= 10000 && var.fanout.dispatcher.parallelization_factor >= 1 && var.fanout.dispatcher.parallelization_factor <= 10
    error_message = "fanout.dispatcher.batch_size must be 1-10000 and parallelization_factor 1-10."
  }

  validation {
    condition     = var.fanout.dispatcher.max_payload_bytes >= 4096 && var.fanout.dispatcher.max_payload_bytes <= 229376
    error_message = "fanout.dispatcher.max_payload_bytes must be 4096-229376: a worker's on-failure record carries the payload and must fit a 256 KB SQS message."
  }

  validation {
    condition     = length(var.fanout.routes) > 0 && alltrue([for route in var.fanout.routes : contains(["device_state", "alerts", "archive"], route.worker)])
    error_message = "fanout.routes must be non-empty and name known workers: device_state, alerts, archive."
  }

  validation {
    condition     = var.fanout.device_state.maximum_retry_attempts >= 0 && var.fanout.device_state.maximum_retry_attempts <= 2 && var.fanout.device_state.maximum_event_age_in_seconds >= 60 && var.fanout.device_state.maximum_event_age_in_seconds <= 21600
    error_message = "fanout.device_state.maximum_retry_attempts must be 0-2 and maximum_event_age_in_seconds 60-21600."
  }

  validation {
    condition     = var.fanout.device_state.offline_after_seconds >= 1 && var.fanout.device_state.offline_after_seconds <= 604800
    error_message = "fanout.device_state.offline_after_seconds must be 1-604800."
  }

  validation {
    condition     = alltrue([for rule in(var.fanout.alerts.rules == null ? [] : var.fanout.alerts.rules) : contains([">", ">=", "<", "<="], rule.op) && rule.for_count >= 1 && rule.for_count <= 100])
    error_message = "fanout.alerts.rules: each op must be one of >, >=, <, <= and each for_count 1-100 (modules/fanout checks names and thresholds too)."
  }

  validation {
    condition     = var.fanout.archive.retention_days == null ? true : var.fanout.archive.retention_days >= 1 && var.fanout.archive.retention_days <= 3650
    error_message = "fanout.archive.retention_days must be 1-3650."
  }
}
