# The HTTP query API's settings, validated here; the root module's `query_api` object
# gives them defaults (terraform/variables_query_api.tf).

variable "name_prefix" {
  description = "Prefix of the API's, function's and log group's names (e.g. shardline)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name_prefix))
    error_message = "name_prefix must be 1-31 characters of [a-z0-9-], starting with a letter."
  }
}

variable "global_name_prefix" {
  description = "Prefix of account-global names (the IAM role): the prefix and the environment."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,48}$", var.global_name_prefix))
    error_message = "global_name_prefix must be 1-48 characters of [a-zA-Z0-9+=,.@_-]."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's Powertools metrics."
  type        = string
}

variable "package_path" {
  description = "Path of the query function's zip (`make package`: dist/lambda/query.zip)."
  type        = string
}

variable "package_base64sha256" {
  description = "Base64-encoded SHA-256 of the zip; null computes it from the file."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Lambda runtime of the function."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function: x86_64 or arm64."
  type        = string
}

variable "layers" {
  description = "Layer version ARNs of the function (the dependencies layer; empty where the runtime provides them)."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "Log level of the function (Powertools LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's and the access log's log groups, in days."
  type        = number
  default     = 30
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period (7-30 days) before the log key is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be from 7 to 30."
  }
}

variable "aggregates" {
  description = "The aggregates table the function queries: its name, ARN, index ARNs and KMS key."
  type = object({
    table_name  = string
    table_arn   = string
    index_arns  = list(string)
    kms_key_arn = string
  })

  validation {
    condition     = can(regex("^arn:[a-z-]+:dynamodb:", var.aggregates.table_arn)) && can(regex("^arn:[a-z-]+:kms:", var.aggregates.kms_key_arn))
    error_message = "aggregates needs a DynamoDB table ARN and a KMS key ARN."
  }
}

variable "settings" {
  description = "The API's settings: throttling of every route (burst: requests at once; rate: requests per second, steady), the origins CORS allows (empty: no CORS), whether GET / serves the analysts' page (page: a static page without data, with no authorization, since a browser cannot sign a navigation; false removes the route) and that route's own, lower throttling (page_throttling_burst_limit, page_throttling_rate_limit), the function's memory (MB), timeout (s), reserved concurrency (null: none) and `live` alias (modules/function)."
  type = object({
    throttling_burst_limit         = number
    throttling_rate_limit          = number
    cors_allow_origins             = list(string)
    cors_max_age                   = number
    page                           = optional(bool, true)
    page_throttling_burst_limit    = optional(number, 10)
    page_throttling_rate_limit     = optional(number, 2)
    memory_size                    = number
    timeout                        = number
    reserved_concurrent_executions = optional(number)
    live_alias = optional(object({
      version       = optional(string)
      canary_weight = optional(number, 0)
    }), {})
  })

  validation {
    condition     = var.settings.throttling_burst_limit >= 1 && var.settings.throttling_burst_limit <= 5000 && floor(var.settings.throttling_burst_limit) == var.settings.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number from 1 to 5000 (the account's default burst quota)."
  }

  validation {
    condition     = var.settings.page_throttling_burst_limit >= 1 && var.settings.page_throttling_burst_limit <= 5000 && floor(var.settings.page_throttling_burst_limit) == var.settings.page_throttling_burst_limit && var.settings.page_throttling_rate_limit > 0 && var.settings.page_throttling_rate_limit <= 10000
    error_message = "page_throttling_burst_limit must be a whole number from 1 to 5000 and page_throttling_rate_limit above 0 and at most 10000 requests per second."
  }
  validation {
    condition     = var.settings.throttling_rate_limit > 0 && var.settings.throttling_rate_limit <= 10000
    error_message = "throttling_rate_limit must be above 0 and at most 10000 requests per second (the account's default quota)."
  }

  validation {
    condition     = alltrue([for origin in var.settings.cors_allow_origins : origin == "*" || can(regex("^https?://[^/*\\s]+$", origin))])
    error_message = "cors_allow_origins must be origins such as https://analytics.example.com (scheme and host, no path) or \"*\"."
  }

  validation {
    condition     = var.settings.cors_max_age >= 0 && var.settings.cors_max_age <= 86400
    error_message = "cors_max_age must be from 0 to 86400 seconds."
  }

  # API Gateway's integration timeout is at most 30 s: a longer function would be cut off.
  validation {
    condition     = var.settings.timeout >= 1 && var.settings.timeout <= 29 && floor(var.settings.timeout) == var.settings.timeout
    error_message = "timeout must be a whole number from 1 to 29 seconds (API Gateway waits at most 30 s for an integration)."
  }

  validation {
    condition     = var.settings.memory_size >= 128 && var.settings.memory_size <= 10240 && floor(var.settings.memory_size) == var.settings.memory_size
    error_message = "memory_size must be a whole number from 128 to 10240."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
