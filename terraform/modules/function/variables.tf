# The function's settings, validated here only: modules/consumer and
# modules/scheduled_function declare the same variables (type, description, default)
# without validation and pass them through.

variable "function_name" {
  description = "Name of the Lambda function; also names its IAM role and log group."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 characters of [a-zA-Z0-9_-]."
  }
}

variable "role_name" {
  description = "Name of the execution role; null uses function_name. IAM names are global to the account, so give it the environment when several share one account."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null ? true : can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters of [a-zA-Z0-9+=,.@_-]."
  }
}

variable "policy_statements" {
  description = "What the function reads and writes (and, for a consumer, what its event source mapping polls and sends), as IAM policy statements: sid, actions, resources (ARNs, not \"*\", wherever the action has resource-level permissions) and optional conditions. Attached as the role's one access policy before the function is created."
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
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for statement in var.policy_statements : can(regex("^[A-Za-z0-9]+$", statement.sid))])
    error_message = "Each statement needs an alphanumeric sid."
  }

  validation {
    condition     = length(distinct([for statement in var.policy_statements : statement.sid])) == length(var.policy_statements)
    error_message = "Statement sids must be unique."
  }

  validation {
    condition     = alltrue([for statement in var.policy_statements : length(statement.actions) > 0 && length(statement.resources) > 0])
    error_message = "Each statement needs at least one action and one resource."
  }

  validation {
    condition     = alltrue([for statement in var.policy_statements : !contains(statement.actions, "*") && alltrue([for action in statement.actions : !endswith(action, ":*")])])
    error_message = "Statements must name their actions (no \"*\" or \"service:*\")."
  }
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string
  default     = ""

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters."
  }
}

variable "package_path" {
  description = "Path of the deployment zip, built outside Terraform (e.g. by `make package`)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must point to a .zip file."
  }
}

variable "package_base64sha256" {
  description = "Base64-encoded SHA-256 of the zip; when null it is computed from package_path with filebase64sha256()."
  type        = string
  default     = null

  validation {
    condition     = var.package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.package_base64sha256))
    error_message = "package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}

variable "handler" {
  description = "Function entry point, e.g. lambdas.aggregator.handler.lambda_handler."
  type        = string

  validation {
    condition     = can(regex("^[^\\s]{1,128}$", var.handler))
    error_message = "handler must be 1-128 characters without whitespace."
  }
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^(python3\\.(9|1[0-3])|nodejs(18|20|22)\\.x|java(11|17|21)|dotnet8|ruby3\\.[34]|provided\\.al2(023)?)$", var.runtime))
    error_message = "runtime must be a supported Lambda runtime (e.g. python3.12)."
  }
}

variable "architecture" {
  description = "Instruction set of the function: x86_64 or arm64 (must match compiled dependencies in the zip and layers)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (128 to 10240); CPU scales with it."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number from 128 to 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds (1 to 900)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number from 1 to 900."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function (no secrets: they are visible to anyone who can read the function's configuration)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.environment_variables) : can(regex("^[a-zA-Z][a-zA-Z0-9_]*$", key))])
    error_message = "Environment variable names must start with a letter and hold only letters, digits and underscores."
  }

  validation {
    condition     = length(jsonencode(var.environment_variables)) <= 4096
    error_message = "Lambda limits environment variables to 4 KB in total."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function (0 disables it); null leaves it on the account's unreserved pool."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null ? true : (var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions)
    error_message = "reserved_concurrent_executions must be null or a whole number >= 0."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: Active (sample and trace invocations) or PassThrough."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "layers" {
  description = "Lambda layer version ARNs to attach (at most 5), e.g. the dependencies layer."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.layers) <= 5
    error_message = "A function can use at most 5 layers."
  }

  validation {
    condition     = alltrue([for arn in var.layers : can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:layer:[a-zA-Z0-9_-]+:[0-9]+$", arn))])
    error_message = "Each layer must be a layer version ARN (arn:...:layer:<name>:<version>)."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_group_kms_key_arn" {
  description = "Optional customer-managed KMS key ARN for the log group (its key policy must allow CloudWatch Logs); null uses CloudWatch Logs encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_group_kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:", var.log_group_kms_key_arn))
    error_message = "log_group_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key, value in var.tags : length(key) <= 128 && length(value) <= 256 && !startswith(lower(key), "aws:")])
    error_message = "Tag keys must be at most 128 characters and not start with aws:, values at most 256."
  }
}

variable "live_alias" {
  description = "The `live` alias everything invokes. version: the published version it points to (null: the version this apply publishes, so an apply is a deploy; a number pins it, which is how a rollback is kept). canary_weight: with version pinned to the previous version, the share of invocations (0-1) routed to the version this apply publishes (a weighted alias; 0: none)."
  type = object({
    version       = optional(string)
    canary_weight = optional(number, 0)
  })
  default = {}

  validation {
    condition     = var.live_alias.version == null ? true : can(regex("^[0-9]+$", var.live_alias.version))
    error_message = "live_alias.version must be null or a published version number ($LATEST cannot be weighted, and versions are what a rollback returns to)."
  }

  validation {
    condition     = var.live_alias.canary_weight >= 0 && var.live_alias.canary_weight <= 1
    error_message = "live_alias.canary_weight must be between 0.0 and 1.0 (AliasRoutingConfiguration)."
  }
}
