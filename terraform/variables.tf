# ---------------------------------------------------------------------------
# Provider and naming
# ---------------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "local_stack" {
  description = "Target the embedded AWS (moto) given by AWS_ENDPOINT_URL: skip credential, account-ID and metadata-API checks that only real AWS can answer."
  type        = bool
  default     = false
  nullable    = false
}

variable "environment" {
  description = "Environment name (e.g. local, dev, prod): the Environment default tag, part of every account-global name (IAM roles and policies: <prefix>-<environment>-<name>) so environments can share an account, and of the metrics namespace (<prefix>/<environment>)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.environment))
    error_message = "environment must be 1-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "prefix" {
  description = "Prefix of every resource name: <prefix>-telemetry, <prefix>-aggregates, <prefix>-aggregator, <prefix>-stream-failures."
  type        = string
  default     = "shardline"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.prefix))
    error_message = "prefix must be 2-32 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "tags" {
  description = "Extra tags for every resource (the provider adds Project, Environment and ManagedBy)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key, value in var.tags : length(key) <= 128 && length(value) <= 256 && !startswith(lower(key), "aws:")])
    error_message = "Tag keys must be at most 128 characters and not start with aws:, values at most 256."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the stream and table KMS keys are deleted after destroy (7 to 30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be from 7 to 30."
  }
}

# ---------------------------------------------------------------------------
# Telemetry stream
# ---------------------------------------------------------------------------

variable "stream_mode" {
  description = "Capacity mode of the telemetry stream: ON_DEMAND or PROVISIONED (then set shard_count)."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Shards of a PROVISIONED telemetry stream (required, >= 1, in that mode)."
  type        = number
  default     = null

  validation {
    condition     = var.shard_count == null ? true : (var.shard_count >= 1 && floor(var.shard_count) == var.shard_count)
    error_message = "shard_count must be a whole number >= 1."
  }
}

variable "stream_retention_hours" {
  description = "Retention of the telemetry stream in hours (24 to 8760). Failed batches can be replayed only while their records are retained."
  type        = number
  default     = 24

  validation {
    condition     = var.stream_retention_hours >= 24 && var.stream_retention_hours <= 8760 && floor(var.stream_retention_hours) == var.stream_retention_hours
    error_message = "stream_retention_hours must be a whole number from 24 to 8760."
  }
}

# ---------------------------------------------------------------------------
# Aggregates table
# ---------------------------------------------------------------------------

variable "aggregates_table_deletion_protection" {
  description = "Whether DynamoDB refuses to delete the aggregates table (false only for throwaway environments)."
  type        = bool
  default     = true
  nullable    = false
}

# ---------------------------------------------------------------------------
# Aggregator function
# ---------------------------------------------------------------------------

variable "aggregator_package_path" {
  description = "Path of the aggregator zip built by `make package`, relative to this directory or absolute."
  type        = string

  validation {
    condition     = endswith(var.aggregator_package_path, ".zip")
    error_message = "aggregator_package_path must point to a .zip file."
  }
}

variable "aggregator_package_base64sha256" {
  description = "Base64-encoded SHA-256 of the aggregator zip; null computes it from the file."
  type        = string
  default     = null

  validation {
    condition     = var.aggregator_package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.aggregator_package_base64sha256))
    error_message = "aggregator_package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}

variable "dependencies_layer_arns" {
  description = "Layer version ARNs with the Lambda dependencies (e.g. Powertools); empty when the zip bundles them."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.dependencies_layer_arns) <= 4
    error_message = "A function can use at most 5 layers, one of which is the dependencies layer."
  }

  validation {
    condition     = alltrue([for arn in var.dependencies_layer_arns : can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:layer:[a-zA-Z0-9_-]+:[0-9]+$", arn))])
    error_message = "Each entry must be a layer version ARN (arn:...:layer:<name>:<version>)."
  }
}

variable "dependencies_layer_path" {
  description = "Path of the dependencies layer zip built by `shardline package --with-dependencies` (it writes this and the two variables below into dist/lambda/packages.tfvars.json); null for none."
  type        = string
  default     = null

  validation {
    condition     = var.dependencies_layer_path == null || can(regex("\\.zip$", var.dependencies_layer_path))
    error_message = "The dependencies layer must be a .zip file."
  }
}

variable "dependencies_layer_runtime" {
  description = "Lambda runtime the dependencies layer zip was built for (written by `shardline package --with-dependencies`); must equal lambda_runtime."
  type        = string
  default     = null

  validation {
    condition     = var.dependencies_layer_runtime == null ? true : can(regex("^python3\\.[0-9]+$", var.dependencies_layer_runtime))
    error_message = "dependencies_layer_runtime must be null or a Python runtime such as python3.12."
  }
}

variable "dependencies_layer_architecture" {
  description = "Architecture the dependencies layer zip was built for (written by `shardline package --with-dependencies`); must equal lambda_architecture."
  type        = string
  default     = null

  validation {
    condition     = var.dependencies_layer_architecture == null ? true : contains(["x86_64", "arm64"], var.dependencies_layer_architecture)
    error_message = "dependencies_layer_architecture must be null, x86_64 or arm64."
  }
}

variable "dependencies_provided_by_runtime" {
  description = "Whether the runtime that runs the functions provides their dependencies, so no layer is needed: true only for the embedded AWS (envs/local.tfvars), whose runtime uses the project's Python environment. Lambda provides only boto3."
  type        = bool
  default     = false
  nullable    = false
}

variable "lambda_runtime" {
  description = "Lambda runtime of every function and of the dependencies layer (python3.11 to python3.13); the layer's wheels are built for its Python version."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.lambda_runtime)
    error_message = "lambda_runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of every function and of the dependencies layer: x86_64 or arm64 (the layer's wheels are built for it: manylinux2014_x86_64 or manylinux2014_aarch64)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the Lambda functions (Powertools Logger)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "allowed_account_ids" {
  description = "AWS account ids (12 digits) the AWS provider may plan and apply against; any other account fails before a change is made. Empty = any account. Ignored on the local stack."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.allowed_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "allowed_account_ids must be 12-digit AWS account ids."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the Lambda log groups in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "aggregates_retention_days" {
  description = "Days the aggregates table keeps each item, counted from the event time it describes (DynamoDB TTL on expires_at): minute = partials and minute totals, rollup = 5-minute and hourly roll-ups (longer: they outlive the minutes they summarise). Whole numbers from 1 to 3650."
  type = object({
    minute = optional(number, 30)
    rollup = optional(number, 365)
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([
      for days in [var.aggregates_retention_days.minute, var.aggregates_retention_days.rollup] :
      days >= 1 && days <= 3650 && floor(days) == days
    ])
    error_message = "aggregates_retention_days.minute and .rollup must be whole numbers of days from 1 to 3650."
  }

  validation {
    condition     = var.aggregates_retention_days.rollup > var.aggregates_retention_days.minute
    error_message = "aggregates_retention_days.rollup must be longer than aggregates_retention_days.minute: roll-ups are kept after the minutes they summarise expire."
  }
}

# ---------------------------------------------------------------------------
# Consumers: one object per function. Only defaults here: the modules that consume
# them validate every setting (modules/function: memory, timeout, concurrency;
# modules/consumer: the event source mapping; modules/scheduled_function: the schedule),
# with ranges from the Lambda and EventBridge API references. Only the two settings the
# scheduled rollup reads from its environment are validated here, where they are used.
# ---------------------------------------------------------------------------

variable "aggregator" {
  description = "The aggregator function and its mapping on the telemetry stream: memory_size (MB), timeout (s), reserved_concurrent_executions (null = unreserved pool; peak need is shards x parallelization_factor), starting_position (TRIM_HORIZON, LATEST or AT_TIMESTAMP with starting_position_timestamp, RFC 3339), batch_size, maximum_batching_window_in_seconds, parallelization_factor (must be 1 with a tumbling window), tumbling_window_in_seconds (0 = off), bisect_batch_on_function_error, maximum_retry_attempts (-1 = until the records expire) and maximum_record_age_in_seconds (-1 = no limit) before a batch goes to the failure queue. modules/consumer validates them."
  type = object({
    memory_size                        = optional(number, 512)
    timeout                            = optional(number, 60)
    reserved_concurrent_executions     = optional(number)
    starting_position                  = optional(string, "TRIM_HORIZON")
    starting_position_timestamp        = optional(string)
    batch_size                         = optional(number, 500)
    maximum_batching_window_in_seconds = optional(number, 5)
    parallelization_factor             = optional(number, 1)
    tumbling_window_in_seconds         = optional(number, 60)
    bisect_batch_on_function_error     = optional(bool, true)
    maximum_retry_attempts             = optional(number, 3)
    maximum_record_age_in_seconds      = optional(number, 3600)
  })
  default  = {}
  nullable = false
}

variable "rollup" {
  description = "The rollup function (minute totals) and its mapping on the aggregates table's stream: memory_size (MB), timeout (s), reserved_concurrent_executions (null = unreserved pool; peak need is the table stream's open shards), batch_size (a batch's partials of one minute cost one recomputation), maximum_batching_window_in_seconds, maximum_retry_attempts and maximum_record_age_in_seconds before a batch goes to the failure queue. Deployed only with its package (rollup_package_path). modules/consumer validates them."
  type = object({
    memory_size                        = optional(number, 256)
    timeout                            = optional(number, 60)
    reserved_concurrent_executions     = optional(number)
    batch_size                         = optional(number, 500)
    maximum_batching_window_in_seconds = optional(number, 5)
    maximum_retry_attempts             = optional(number, 10)
    maximum_record_age_in_seconds      = optional(number, 3600)
  })
  default  = {}
  nullable = false
}

variable "scheduled_rollup" {
  description = "The scheduled rollup (5-minute and hourly roll-ups): schedule_expression (EventBridge rate(...) or cron(...); roll-ups lag their minute totals by at most this period plus the settle time), settle_seconds (0-3600: age a pending-hour marker must reach before it is deleted, as the by_hour index is eventually consistent on AWS; 0 only for the embedded AWS), max_hours_per_run (1-744 pending hours per run, oldest first), memory_size (MB), timeout (s; keep it below the schedule's period) and reserved_concurrent_executions (null = unreserved pool; overlapping runs are serialised by a lease item anyway). Deployed only with its package (scheduled_rollup_package_path). modules/scheduled_function validates the function and schedule settings; the two the function reads from its environment are validated here."
  type = object({
    schedule_expression            = optional(string, "rate(5 minutes)")
    settle_seconds                 = optional(number, 60)
    max_hours_per_run              = optional(number, 24)
    memory_size                    = optional(number, 512)
    timeout                        = optional(number, 240)
    reserved_concurrent_executions = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.scheduled_rollup.settle_seconds >= 0 && var.scheduled_rollup.settle_seconds <= 3600 && floor(var.scheduled_rollup.settle_seconds) == var.scheduled_rollup.settle_seconds
    error_message = "scheduled_rollup.settle_seconds must be a whole number from 0 to 3600."
  }

  validation {
    condition     = var.scheduled_rollup.max_hours_per_run >= 1 && var.scheduled_rollup.max_hours_per_run <= 744 && floor(var.scheduled_rollup.max_hours_per_run) == var.scheduled_rollup.max_hours_per_run
    error_message = "scheduled_rollup.max_hours_per_run must be a whole number from 1 to 744."
  }

  validation {
    condition     = var.scheduled_rollup.reserved_concurrent_executions == null || coalesce(var.scheduled_rollup.reserved_concurrent_executions, 1) >= 1
    error_message = "scheduled_rollup.reserved_concurrent_executions must be null (unreserved) or at least 1: 0 throttles every scheduled run, and the roll-ups silently stop."
  }
}

# ---------------------------------------------------------------------------
# Rollup function (minute totals from the aggregates table's stream)
# ---------------------------------------------------------------------------

variable "rollup_package_path" {
  description = "Path of the rollup zip built by `make package`, relative to this directory or absolute; null deploys no rollup (queries then find no minute totals)."
  type        = string
  default     = null

  validation {
    condition     = var.rollup_package_path == null || can(regex("\\.zip$", var.rollup_package_path))
    error_message = "rollup_package_path must point to a .zip file."
  }
}

variable "rollup_package_base64sha256" {
  description = "Base64-encoded SHA-256 of the rollup zip; null computes it from the file."
  type        = string
  default     = null

  validation {
    condition     = var.rollup_package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.rollup_package_base64sha256))
    error_message = "rollup_package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}

# ---------------------------------------------------------------------------
# Scheduled rollup (5-minute and hourly roll-ups per device, site and fleet)
# ---------------------------------------------------------------------------

variable "scheduled_rollup_package_path" {
  description = "Path of the scheduled-rollup zip built by `make package`, relative to this directory or absolute; null deploys no scheduled rollup (queries then find no 5-minute or hourly roll-ups)."
  type        = string
  default     = null

  validation {
    condition     = var.scheduled_rollup_package_path == null || can(regex("\\.zip$", var.scheduled_rollup_package_path))
    error_message = "scheduled_rollup_package_path must point to a .zip file."
  }
}

variable "scheduled_rollup_package_base64sha256" {
  description = "Base64-encoded SHA-256 of the scheduled-rollup zip; null computes it from the file."
  type        = string
  default     = null

  validation {
    condition     = var.scheduled_rollup_package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.scheduled_rollup_package_base64sha256))
    error_message = "scheduled_rollup_package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}

# -- quarantine --
# ---------------------------------------------------------------------------
# Quarantine store (records the aggregator rejects) and failed-batch replay
# ---------------------------------------------------------------------------

variable "quarantine_table_deletion_protection" {
  description = "Whether DynamoDB refuses to delete the quarantine table (false only for throwaway environments)."
  type        = bool
  default     = true
  nullable    = false
}

variable "quarantine_retention_days" {
  description = "Days a quarantined record is kept (TTL on expires_at) before DynamoDB deletes it (1 to 365)."
  type        = number
  default     = 14

  validation {
    condition     = var.quarantine_retention_days >= 1 && var.quarantine_retention_days <= 365 && floor(var.quarantine_retention_days) == var.quarantine_retention_days
    error_message = "quarantine_retention_days must be a whole number from 1 to 365."
  }
}

variable "live_aliases" {
  description = "Per function (aggregator, rollup, scheduled_rollup, dispatcher, device_state, alerts, archive): its `live` alias. version pins it to a published version (a rollback kept across applies; absent: the version the apply publishes); canary_weight routes that share of invocations (0-1) to the version the apply publishes while version stays live (docs/deploys.md)."
  type = map(object({
    version       = optional(string)
    canary_weight = optional(number, 0)
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.live_aliases) : contains(["aggregator", "rollup", "scheduled_rollup", "dispatcher", "device_state", "alerts", "archive"], name)])
    error_message = "live_aliases keys must be function names: aggregator, rollup, scheduled_rollup, dispatcher, device_state, alerts, archive."
  }

  validation {
    condition     = alltrue([for alias in values(var.live_aliases) : (alias.version == null ? true : can(regex("^[0-9]+$", alias.version))) && alias.canary_weight >= 0 && alias.canary_weight <= 1])
    error_message = "live_aliases: version must be a published version number and canary_weight between 0.0 and 1.0."
  }
}
