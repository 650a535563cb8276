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
# Permissions on resources the function uses
# ---------------------------------------------------------------------------

variable "event_source_kms_key_arns" {
  description = "KMS keys that encrypt the event source (a Kinesis stream's key, or the table's key for a DynamoDB stream); the role gets kms:Decrypt on them through that service."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.event_source_kms_key_arns : can(regex("^arn:[a-z-]+:kms:", arn))])
    error_message = "event_source_kms_key_arns must hold KMS key ARNs."
  }
}

variable "dynamodb_write_table_arns" {
  description = "DynamoDB tables the function writes items to with BatchWriteItem (lambdas/shared/dynamo.py)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.dynamodb_write_table_arns : can(regex("^arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]+:table/[a-zA-Z0-9_.-]+$", arn))])
    error_message = "dynamodb_write_table_arns must hold DynamoDB table ARNs."
  }
}

variable "dynamodb_table_kms_key_arns" {
  description = "KMS keys of the DynamoDB tables the function reads or writes; the role gets kms:Decrypt on them through DynamoDB."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.dynamodb_table_kms_key_arns : can(regex("^arn:[a-z-]+:kms:", arn))])
    error_message = "dynamodb_table_kms_key_arns must hold KMS key ARNs."
  }
}

variable "on_failure_queue_kms_key_arn" {
  description = "KMS key of the on-failure queue when it uses SSE-KMS (the role then gets kms:GenerateDataKey and kms:Decrypt through SQS); null for SSE-SQS or no encryption."
  type        = string
  default     = null

  validation {
    condition     = var.on_failure_queue_kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:", var.on_failure_queue_kms_key_arn))
    error_message = "on_failure_queue_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "extra_policy_statements" {
  description = "Further statements for the function's access policy (e.g. reads its code makes), in modules/function's policy_statements shape; attached before the mapping exists."
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
}

# ---------------------------------------------------------------------------
# Event source mapping (ranges from the Lambda API reference)
# ---------------------------------------------------------------------------

variable "event_source_type" {
  description = "Kind of stream the mapping reads: kinesis or dynamodb (a DynamoDB stream). Selects the read permissions."
  type        = string
  default     = "kinesis"

  validation {
    condition     = contains(["kinesis", "dynamodb"], var.event_source_type)
    error_message = "event_source_type must be kinesis or dynamodb."
  }
}

variable "event_source_arn" {
  description = "ARN of the Kinesis stream or DynamoDB stream the mapping reads."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:(kinesis|dynamodb):", var.event_source_arn))
    error_message = "event_source_arn must be a Kinesis stream or DynamoDB stream ARN."
  }
}

variable "stream_consumer_name" {
  description = "Enhanced fan-out: when set, the module registers a consumer of this name on the Kinesis stream event_source_arn and maps the function to it (SubscribeToShard); the role gets kinesis:SubscribeToShard and kinesis:DescribeStreamConsumer on it. null reads with shared throughput."
  type        = string
  default     = null

  validation {
    condition     = var.stream_consumer_name == null ? true : can(regex("^[a-zA-Z0-9_.-]{1,128}$", var.stream_consumer_name))
    error_message = "stream_consumer_name must be null or 1-128 letters, digits, _ . or -."
  }
}

variable "event_source_mapping_enabled" {
  description = "Whether the mapping polls the stream."
  type        = bool
  default     = true
  nullable    = false
}

variable "starting_position" {
  description = "Where a new mapping starts reading: TRIM_HORIZON (oldest record), LATEST, or AT_TIMESTAMP (Kinesis only)."
  type        = string
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"], var.starting_position)
    error_message = "starting_position must be TRIM_HORIZON, LATEST or AT_TIMESTAMP."
  }
}

variable "starting_position_timestamp" {
  description = "RFC 3339 time to start reading from when starting_position is AT_TIMESTAMP."
  type        = string
  default     = null

  validation {
    condition     = var.starting_position_timestamp == null ? true : can(formatdate("YYYY", var.starting_position_timestamp))
    error_message = "starting_position_timestamp must be an RFC 3339 timestamp, e.g. 2025-01-01T00:00:00Z."
  }
}

variable "batch_size" {
  description = "Maximum records per invocation (1 to 10000)."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long Lambda gathers records before invoking (0 to 300 seconds)."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard (1 to 10); must be 1 with a tumbling window."
  type        = number
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10 && floor(var.parallelization_factor) == var.parallelization_factor
    error_message = "parallelization_factor must be a whole number from 1 to 10."
  }
}

variable "tumbling_window_in_seconds" {
  description = "Length of the tumbling aggregation window (0 to 900 seconds; 0 turns windows off)."
  type        = number
  default     = 0

  validation {
    condition     = var.tumbling_window_in_seconds >= 0 && var.tumbling_window_in_seconds <= 900 && floor(var.tumbling_window_in_seconds) == var.tumbling_window_in_seconds
    error_message = "tumbling_window_in_seconds must be a whole number from 0 to 900."
  }
}

variable "bisect_batch_on_function_error" {
  description = "Split a failed batch in two and retry each half, isolating poison records."
  type        = bool
  default     = true
  nullable    = false
}

variable "function_response_types" {
  description = "Response types the function reports; [\"ReportBatchItemFailures\"] enables partial batch responses, [] turns them off."
  type        = list(string)
  default     = ["ReportBatchItemFailures"]

  validation {
    condition     = alltrue([for response_type in var.function_response_types : response_type == "ReportBatchItemFailures"])
    error_message = "function_response_types may only contain ReportBatchItemFailures."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed batch before it goes to the on-failure destination (-1 = until the record expires, or 0 to 10000)."
  type        = number
  default     = 3

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be -1 or a whole number from 0 to 10000."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are sent to the on-failure destination instead of processed (-1 = no limit, or 60 to 604800)."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800 && floor(var.maximum_record_age_in_seconds) == var.maximum_record_age_in_seconds)
    error_message = "maximum_record_age_in_seconds must be -1 or a whole number from 60 to 604800."
  }
}

variable "on_failure_queue_arn" {
  description = "SQS queue that receives the metadata of batches that exhausted their retries or record age; the role gets sqs:SendMessage on it."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:sqs:", var.on_failure_queue_arn))
    error_message = "on_failure_queue_arn must be an SQS queue ARN."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "filter_patterns" {
  description = "Event filtering: up to 5 FilterCriteria patterns (JSON objects, each at most 4096 characters, ORed); a record no pattern matches is dropped and never invokes the function. [] sends every record."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.filter_patterns) <= 5
    error_message = "filter_patterns takes at most 5 patterns (Lambda's default quota per event source mapping)."
  }

  validation {
    condition     = alltrue([for pattern in var.filter_patterns : length(pattern) >= 1 && length(pattern) <= 4096])
    error_message = "Each filter pattern must be 1-4096 characters."
  }

  validation {
    condition     = alltrue([for pattern in var.filter_patterns : can(keys(jsondecode(pattern)))])
    error_message = "Each filter pattern must be a JSON object, e.g. jsonencode({ eventName = [\"INSERT\"] })."
  }
}

variable "live_alias" {
  description = "The `live` alias the mapping invokes: version pins it to a published version (null: the version this apply publishes); canary_weight routes that share to the newly published version (see modules/function)."
  type = object({
    version       = optional(string)
    canary_weight = optional(number, 0)
  })
  default = {}
}
