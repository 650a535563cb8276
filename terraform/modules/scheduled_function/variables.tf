# ---------------------------------------------------------------------------
# Function: passed through to modules/function, which validates these settings.
# Defaults are the same as there (so checkov, which reads each module's defaults,
# sees the real values).
# ---------------------------------------------------------------------------

variable "function_name" {
  description = "Name of the Lambda function; also names its IAM role and log group."
  type        = string
}

variable "role_name" {
  description = "Name of the execution role; null uses function_name (IAM names are global to the account)."
  type        = string
  default     = null
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string
  default     = ""
}

variable "package_path" {
  description = "Path of the deployment zip, built outside Terraform (e.g. by `make package`)."
  type        = string
}

variable "package_base64sha256" {
  description = "Base64-encoded SHA-256 of the zip; when null it is computed from package_path with filebase64sha256()."
  type        = string
  default     = null
}

variable "handler" {
  description = "Function entry point, e.g. lambdas.aggregator.handler.lambda_handler."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
  default     = "python3.12"
}

variable "architecture" {
  description = "Instruction set of the function: x86_64 or arm64 (must match compiled dependencies in the zip and layers)."
  type        = string
  default     = "x86_64"
}

variable "memory_size" {
  description = "Memory of the function in MB (128 to 10240); CPU scales with it."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Function timeout in seconds (1 to 900)."
  type        = number
  default     = 60
}

variable "environment_variables" {
  description = "Environment variables of the function (no secrets: they are visible to anyone who can read the function's configuration)."
  type        = map(string)
  default     = {}
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function (0 disables it); null leaves it on the account's unreserved pool."
  type        = number
  default     = null
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: Active (sample and trace invocations) or PassThrough."
  type        = string
  default     = "Active"
}

variable "layers" {
  description = "Lambda layer version ARNs to attach (at most 5), e.g. the dependencies layer."
  type        = list(string)
  default     = []
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 30
}

variable "log_group_kms_key_arn" {
  description = "Optional customer-managed KMS key ARN for the log group (its key policy must allow CloudWatch Logs); null uses CloudWatch Logs encryption."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------

variable "policy_statements" {
  description = "What the function reads and writes, beyond its own logs and traces, as IAM policy statements (modules/function's policy_statements shape); name resource ARNs, not \"*\"."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  nullable = false

  validation {
    condition     = length(var.policy_statements) > 0
    error_message = "A scheduled job needs at least one statement of what it reads or writes."
  }
}

# ---------------------------------------------------------------------------
# Schedule and asynchronous invocation
# ---------------------------------------------------------------------------

variable "schedule_expression" {
  description = "EventBridge schedule: rate(<n> minute(s)|hour(s)|day(s)) (singular for 1) or cron(<6 fields>)."
  type        = string

  validation {
    condition     = can(regex("^(rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)|cron\\(\\S+( \\S+){5}\\))$", var.schedule_expression))
    error_message = "schedule_expression must be rate(1 minute), rate(<n> minutes|hours|days) with n >= 2, or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)."
  }
}

variable "schedule_enabled" {
  description = "Whether the rule fires (false pauses the job without removing it)."
  type        = bool
  default     = true
  nullable    = false
}

variable "maximum_retry_attempts" {
  description = "Retries Lambda makes of a failed scheduled invocation (0 to 2)."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "How long Lambda keeps trying to run a queued scheduled invocation (60 to 21600 seconds)."
  type        = number
  default     = 300

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600 && floor(var.maximum_event_age_in_seconds) == var.maximum_event_age_in_seconds
    error_message = "maximum_event_age_in_seconds must be a whole number from 60 to 21600."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "live_alias" {
  description = "The `live` alias the schedule invokes: version pins it to a published version (null: the version this apply publishes); canary_weight routes that share to the newly published version (see modules/function)."
  type = object({
    version       = optional(string)
    canary_weight = optional(number, 0)
  })
  default = {}
}
