# ---------------------------------------------------------------------------
# alerts worker (lambdas/alerts, docs/alerts.md)
# ---------------------------------------------------------------------------

variable "alerts" {
  description = "The alerts worker: its package, size, async invoke settings (retries 0-2, maximum event age 60-21600 s), its rules (ALERT_RULES: a rule holds when `value <op> threshold`, and raises after for_count consecutive readings; for_count is the rules' `for`, which HCL reserves) and the alerts queue's retention."
  type = object({
    package_path                    = string
    package_base64sha256            = optional(string)
    memory_size                     = optional(number, 256)
    timeout                         = optional(number, 60)
    reserved_concurrent_executions  = optional(number)
    maximum_retry_attempts          = optional(number, 2)
    maximum_event_age_in_seconds    = optional(number, 3600)
    table_deletion_protection       = optional(bool, true)
    queue_message_retention_seconds = optional(number, 345600)
    rules = optional(list(object({
      name      = string
      metric    = string
      op        = string
      threshold = number
      for_count = optional(number, 1)
      severity  = optional(string, "warning")
      })), [
      { name = "overheat", metric = "temperature_c", op = ">", threshold = 80, for_count = 3, severity = "critical" },
      { name = "low-battery", metric = "battery_v", op = "<", threshold = 3.3, for_count = 1, severity = "warning" },
    ])
  })

  validation {
    condition     = var.alerts.maximum_retry_attempts >= 0 && var.alerts.maximum_retry_attempts <= 2 && var.alerts.maximum_event_age_in_seconds >= 60 && var.alerts.maximum_event_age_in_seconds <= 21600
    error_message = "alerts.maximum_retry_attempts must be 0-2 and maximum_event_age_in_seconds 60-21600."
  }

  validation {
    # ALERT_CLAIM_SECONDS (120 by default) must stay above the timeout (docs/alerts.md).
    condition     = var.alerts.timeout >= 1 && var.alerts.timeout < 120
    error_message = "alerts.timeout must be 1-119 s: a publish claim (ALERT_CLAIM_SECONDS, 120 s) must outlive the invocation."
  }

  validation {
    condition     = var.alerts.queue_message_retention_seconds >= 60 && var.alerts.queue_message_retention_seconds <= 1209600
    error_message = "alerts.queue_message_retention_seconds must be 60-1209600."
  }

  # The same rules as lambdas/alerts/config.py, so a bad rule fails the plan, not the
  # worker's cold start.
  validation {
    condition     = length(var.alerts.rules) > 0 && length(distinct([for rule in var.alerts.rules : rule.name])) == length(var.alerts.rules)
    error_message = "alerts.rules must be a non-empty list with unique names."
  }

  validation {
    condition     = alltrue([for rule in var.alerts.rules : can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", rule.name)) && can(regex("^[a-z][a-z0-9_]{0,63}$", rule.metric)) && can(regex("^[a-z][a-z0-9_-]{0,31}$", rule.severity))])
    error_message = "Each alert rule needs a name of 1-64 letters, digits, _ . - (starting with a letter or digit), a metric name as in the data contract ([a-z][a-z0-9_]*) and a lowercase severity word."
  }

  validation {
    condition     = alltrue([for rule in var.alerts.rules : contains([">", ">=", "<", "<="], rule.op)])
    error_message = "Each alert rule's op must be one of >, >=, <, <=."
  }

  validation {
    condition     = alltrue([for rule in var.alerts.rules : rule.for_count >= 1 && rule.for_count <= 100 && floor(rule.for_count) == rule.for_count && abs(rule.threshold) < 1000000000])
    error_message = "Each alert rule's for_count must be a whole number from 1 to 100 and its threshold below 10^9 in magnitude."
  }
}

# ---------------------------------------------------------------------------
# archive worker (lambdas/archive, docs/archive.md)
# ---------------------------------------------------------------------------

variable "archive" {
  description = "The archive worker: its package, size, async invoke settings (retries 0-2, maximum event age 60-21600 s), the key prefix of its objects (empty, or ending with /), how long objects are kept (retention_days) and how long overwritten versions are kept (noncurrent_retention_days)."
  type = object({
    package_path                   = string
    package_base64sha256           = optional(string)
    memory_size                    = optional(number, 256)
    timeout                        = optional(number, 60)
    reserved_concurrent_executions = optional(number)
    maximum_retry_attempts         = optional(number, 2)
    maximum_event_age_in_seconds   = optional(number, 3600)
    prefix                         = optional(string, "raw/")
    retention_days                 = optional(number, 365)
    noncurrent_retention_days      = optional(number, 7)
    force_destroy                  = optional(bool, false)
  })

  validation {
    condition     = var.archive.maximum_retry_attempts >= 0 && var.archive.maximum_retry_attempts <= 2 && var.archive.maximum_event_age_in_seconds >= 60 && var.archive.maximum_event_age_in_seconds <= 21600
    error_message = "archive.maximum_retry_attempts must be 0-2 and maximum_event_age_in_seconds 60-21600."
  }

  validation {
    condition     = var.archive.prefix == "" || can(regex("^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*/$", var.archive.prefix))
    error_message = "archive.prefix must be empty or end with / (and not start with one)."
  }

  validation {
    condition     = var.archive.retention_days >= 1 && var.archive.retention_days <= 3650 && floor(var.archive.retention_days) == var.archive.retention_days
    error_message = "archive.retention_days must be a whole number from 1 to 3650."
  }

  validation {
    condition     = var.archive.noncurrent_retention_days >= 1 && var.archive.noncurrent_retention_days <= 365 && floor(var.archive.noncurrent_retention_days) == var.archive.noncurrent_retention_days
    error_message = "archive.noncurrent_retention_days must be a whole number from 1 to 365."
  }
}

variable "live_aliases" {
  description = "The `live` alias of the dispatcher and of each worker, by logical name (dispatcher, device_state, alerts, archive); see modules/function's live_alias. Absent: the version the apply publishes."
  type = map(object({
    version       = optional(string)
    canary_weight = optional(number, 0)
  }))
  default = {}
}
