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

variable "aggregator_memory_size" {
  description = "Memory of the aggregator in MB (128 to 10240)."
  type        = number
  default     = 512

  validation {
    condition     = var.aggregator_memory_size >= 128 && var.aggregator_memory_size <= 10240 && floor(var.aggregator_memory_size) == var.aggregator_memory_size
    error_message = "aggregator_memory_size must be a whole number from 128 to 10240."
  }
}

variable "aggregator_timeout" {
  description = "Aggregator timeout in seconds (1 to 900)."
  type        = number
  default     = 60

  validation {
    condition     = var.aggregator_timeout >= 1 && var.aggregator_timeout <= 900 && floor(var.aggregator_timeout) == var.aggregator_timeout
    error_message = "aggregator_timeout must be a whole number from 1 to 900."
  }
}

variable "aggregator_reserved_concurrent_executions" {
  description = "Concurrency reserved for the aggregator; null leaves it on the unreserved pool. Peak need is shards x parallelization factor."
  type        = number
  default     = null

  validation {
    condition     = var.aggregator_reserved_concurrent_executions == null ? true : (var.aggregator_reserved_concurrent_executions >= 0 && floor(var.aggregator_reserved_concurrent_executions) == var.aggregator_reserved_concurrent_executions)
    error_message = "aggregator_reserved_concurrent_executions must be null or a whole number >= 0."
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
# Aggregator event source mapping (ranges from the Lambda API reference)
# ---------------------------------------------------------------------------

variable "aggregator_starting_position" {
  description = "Where the aggregator's mapping starts reading the stream: TRIM_HORIZON, LATEST or AT_TIMESTAMP."
  type        = string
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"], var.aggregator_starting_position)
    error_message = "aggregator_starting_position must be TRIM_HORIZON, LATEST or AT_TIMESTAMP."
  }
}

variable "aggregator_starting_position_timestamp" {
  description = "RFC 3339 start time when aggregator_starting_position is AT_TIMESTAMP."
  type        = string
  default     = null

  validation {
    condition     = var.aggregator_starting_position_timestamp == null ? true : can(formatdate("YYYY", var.aggregator_starting_position_timestamp))
    error_message = "aggregator_starting_position_timestamp must be an RFC 3339 timestamp, e.g. 2025-01-01T00:00:00Z."
  }
}

variable "aggregator_batch_size" {
  description = "Maximum records per aggregator invocation (1 to 10000)."
  type        = number
  default     = 500

  validation {
    condition     = var.aggregator_batch_size >= 1 && var.aggregator_batch_size <= 10000 && floor(var.aggregator_batch_size) == var.aggregator_batch_size
    error_message = "aggregator_batch_size must be a whole number from 1 to 10000."
  }
}

variable "aggregator_maximum_batching_window_in_seconds" {
  description = "How long Lambda gathers records before invoking the aggregator (0 to 300 seconds)."
  type        = number
  default     = 5

  validation {
    condition     = var.aggregator_maximum_batching_window_in_seconds >= 0 && var.aggregator_maximum_batching_window_in_seconds <= 300 && floor(var.aggregator_maximum_batching_window_in_seconds) == var.aggregator_maximum_batching_window_in_seconds
    error_message = "aggregator_maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "aggregator_parallelization_factor" {
  description = "Concurrent aggregator batches per shard (1 to 10); must be 1 while aggregator_tumbling_window_in_seconds > 0."
  type        = number
  default     = 1

  validation {
    condition     = var.aggregator_parallelization_factor >= 1 && var.aggregator_parallelization_factor <= 10 && floor(var.aggregator_parallelization_factor) == var.aggregator_parallelization_factor
    error_message = "aggregator_parallelization_factor must be a whole number from 1 to 10."
  }
}

variable "aggregator_tumbling_window_in_seconds" {
  description = "Tumbling window of the aggregator in seconds (0 to 900; 0 turns windows off)."
  type        = number
  default     = 60

  validation {
    condition     = var.aggregator_tumbling_window_in_seconds >= 0 && var.aggregator_tumbling_window_in_seconds <= 900 && floor(var.aggregator_tumbling_window_in_seconds) == var.aggregator_tumbling_window_in_seconds
    error_message = "aggregator_tumbling_window_in_seconds must be a whole number from 0 to 900."
  }
}

variable "aggregator_bisect_batch_on_function_error" {
  description = "Bisect a failed aggregator batch and retry each half, isolating poison records."
  type        = bool
  default     = true
  nullable    = false
}

variable "aggregator_maximum_retry_attempts" {
  description = "Retries of a failed aggregator batch before it goes to the failure queue (-1 = until the records expire, or 0 to 10000)."
  type        = number
  default     = 3

  validation {
    condition     = var.aggregator_maximum_retry_attempts >= -1 && var.aggregator_maximum_retry_attempts <= 10000 && floor(var.aggregator_maximum_retry_attempts) == var.aggregator_maximum_retry_attempts
    error_message = "aggregator_maximum_retry_attempts must be -1 or a whole number from 0 to 10000."
  }
}

variable "aggregator_maximum_record_age_in_seconds" {
  description = "Records older than this go to the failure queue unprocessed (-1 = no limit, or 60 to 604800)."
  type        = number
  default     = 3600

  validation {
    condition     = var.aggregator_maximum_record_age_in_seconds == -1 || (var.aggregator_maximum_record_age_in_seconds >= 60 && var.aggregator_maximum_record_age_in_seconds <= 604800 && floor(var.aggregator_maximum_record_age_in_seconds) == var.aggregator_maximum_record_age_in_seconds)
    error_message = "aggregator_maximum_record_age_in_seconds must be -1 or a whole number from 60 to 604800."
  }
}

# -- rollups --
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

variable "rollup_memory_size" {
  description = "Memory of the rollup function in MB (128 to 10240)."
  type        = number
  default     = 256

  validation {
    condition     = var.rollup_memory_size >= 128 && var.rollup_memory_size <= 10240 && floor(var.rollup_memory_size) == var.rollup_memory_size
    error_message = "rollup_memory_size must be a whole number from 128 to 10240."
  }
}

variable "rollup_timeout" {
  description = "Rollup function timeout in seconds (1 to 900)."
  type        = number
  default     = 60

  validation {
    condition     = var.rollup_timeout >= 1 && var.rollup_timeout <= 900 && floor(var.rollup_timeout) == var.rollup_timeout
    error_message = "rollup_timeout must be a whole number from 1 to 900."
  }
}

variable "rollup_reserved_concurrent_executions" {
  description = "Concurrency reserved for the rollup function; null leaves it on the unreserved pool. Peak need is the number of open stream shards of the aggregates table."
  type        = number
  default     = null

  validation {
    condition     = var.rollup_reserved_concurrent_executions == null ? true : (var.rollup_reserved_concurrent_executions >= 0 && floor(var.rollup_reserved_concurrent_executions) == var.rollup_reserved_concurrent_executions)
    error_message = "rollup_reserved_concurrent_executions must be null or a whole number >= 0."
  }
}

variable "rollup_batch_size" {
  description = "Maximum stream records per rollup invocation (1 to 10000); a batch's partials of one minute cost a single recomputation."
  type        = number
  default     = 500

  validation {
    condition     = var.rollup_batch_size >= 1 && var.rollup_batch_size <= 10000 && floor(var.rollup_batch_size) == var.rollup_batch_size
    error_message = "rollup_batch_size must be a whole number from 1 to 10000."
  }
}

variable "rollup_maximum_batching_window_in_seconds" {
  description = "How long Lambda gathers stream records before invoking the rollup (0 to 300 seconds)."
  type        = number
  default     = 5

  validation {
    condition     = var.rollup_maximum_batching_window_in_seconds >= 0 && var.rollup_maximum_batching_window_in_seconds <= 300 && floor(var.rollup_maximum_batching_window_in_seconds) == var.rollup_maximum_batching_window_in_seconds
    error_message = "rollup_maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "rollup_maximum_retry_attempts" {
  description = "Retries of a failed rollup batch before it goes to the failure queue (-1 = until the records expire, or 0 to 10000)."
  type        = number
  default     = 10

  validation {
    condition     = var.rollup_maximum_retry_attempts >= -1 && var.rollup_maximum_retry_attempts <= 10000 && floor(var.rollup_maximum_retry_attempts) == var.rollup_maximum_retry_attempts
    error_message = "rollup_maximum_retry_attempts must be -1 or a whole number from 0 to 10000."
  }
}

variable "rollup_maximum_record_age_in_seconds" {
  description = "Stream records older than this go to the failure queue unprocessed (-1 = no limit, or 60 to 604800)."
  type        = number
  default     = 3600

  validation {
    condition     = var.rollup_maximum_record_age_in_seconds == -1 || (var.rollup_maximum_record_age_in_seconds >= 60 && var.rollup_maximum_record_age_in_seconds <= 604800 && floor(var.rollup_maximum_record_age_in_seconds) == var.rollup_maximum_record_age_in_seconds)
    error_message = "rollup_maximum_record_age_in_seconds must be -1 or a whole number from 60 to 604800."
  }
}

# -- scheduled rollup --
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

variable "scheduled_rollup_schedule_expression" {
  description = "How often the scheduled rollup runs: an EventBridge rate(...) or cron(...) expression. Roll-ups lag their minute totals by at most this period (plus the settle time)."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)|cron\\(\\S+( \\S+){5}\\))$", var.scheduled_rollup_schedule_expression))
    error_message = "scheduled_rollup_schedule_expression must be rate(1 minute), rate(<n> minutes|hours|days) with n >= 2, or cron(<6 fields>)."
  }
}

variable "scheduled_rollup_settle_seconds" {
  description = "Age (0 to 3600 seconds) a pending-hour marker must reach before the scheduled rollup deletes it: the by_hour index is eventually consistent on AWS. Younger hours are rolled up and kept pending. 0 only for the embedded AWS, whose index is consistent at once."
  type        = number
  default     = 60

  validation {
    condition     = var.scheduled_rollup_settle_seconds >= 0 && var.scheduled_rollup_settle_seconds <= 3600 && floor(var.scheduled_rollup_settle_seconds) == var.scheduled_rollup_settle_seconds
    error_message = "scheduled_rollup_settle_seconds must be a whole number from 0 to 3600."
  }
}

variable "scheduled_rollup_max_hours_per_run" {
  description = "Pending hours one scheduled run recomputes, oldest first (1 to 744); the rest wait for the next run. Bounds a run's duration after a backlog."
  type        = number
  default     = 24

  validation {
    condition     = var.scheduled_rollup_max_hours_per_run >= 1 && var.scheduled_rollup_max_hours_per_run <= 744 && floor(var.scheduled_rollup_max_hours_per_run) == var.scheduled_rollup_max_hours_per_run
    error_message = "scheduled_rollup_max_hours_per_run must be a whole number from 1 to 744."
  }
}

variable "scheduled_rollup_memory_size" {
  description = "Memory of the scheduled rollup in MB (128 to 10240)."
  type        = number
  default     = 512

  validation {
    condition     = var.scheduled_rollup_memory_size >= 128 && var.scheduled_rollup_memory_size <= 10240 && floor(var.scheduled_rollup_memory_size) == var.scheduled_rollup_memory_size
    error_message = "scheduled_rollup_memory_size must be a whole number from 128 to 10240."
  }
}

variable "scheduled_rollup_timeout" {
  description = "Scheduled rollup timeout in seconds (1 to 900); keep it below the schedule's period so runs do not overlap."
  type        = number
  default     = 240

  validation {
    condition     = var.scheduled_rollup_timeout >= 1 && var.scheduled_rollup_timeout <= 900 && floor(var.scheduled_rollup_timeout) == var.scheduled_rollup_timeout
    error_message = "scheduled_rollup_timeout must be a whole number from 1 to 900."
  }
}

variable "scheduled_rollup_reserved_concurrent_executions" {
  description = "Concurrency reserved for the scheduled rollup; null (the default) leaves it on the unreserved pool. Correctness does not depend on it: overlapping runs are serialised by a lease item in the aggregates table (lambdas/scheduled_rollup)."
  type        = number
  default     = null

  validation {
    condition     = var.scheduled_rollup_reserved_concurrent_executions == null ? true : (var.scheduled_rollup_reserved_concurrent_executions >= 1 && floor(var.scheduled_rollup_reserved_concurrent_executions) == var.scheduled_rollup_reserved_concurrent_executions)
    error_message = "scheduled_rollup_reserved_concurrent_executions must be null or a whole number >= 1."
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
