variable "stream_name" {
  description = "Name of the Kinesis data stream; also the name of its KMS key alias."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,128}$", var.stream_name))
    error_message = "stream_name must be 1-128 characters of [a-zA-Z0-9_.-]."
  }
}

variable "stream_mode" {
  description = "Capacity mode of the stream: ON_DEMAND (scales by itself) or PROVISIONED (shard_count shards)."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Number of shards of a PROVISIONED stream (required, >= 1, in that mode); ignored for ON_DEMAND."
  type        = number
  default     = null

  validation {
    condition     = var.shard_count == null ? true : (var.shard_count >= 1 && floor(var.shard_count) == var.shard_count)
    error_message = "shard_count must be a whole number >= 1."
  }
}

variable "retention_hours" {
  description = "How long the stream keeps records, in hours (24 to 8760, i.e. 365 days)."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760 && floor(var.retention_hours) == var.retention_hours
    error_message = "retention_hours must be a whole number from 24 to 8760."
  }
}

variable "shard_level_metrics" {
  description = "Enhanced shard-level CloudWatch metrics to enable (they cost extra), e.g. [\"IncomingBytes\", \"IteratorAgeMilliseconds\"]."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for metric in var.shard_level_metrics : contains([
        "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
        "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
        "IteratorAgeMilliseconds", "ALL",
      ], metric)
    ])
    error_message = "shard_level_metrics may hold only Kinesis shard-level metric names or ALL."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the stream's KMS key is deleted after destroy (7 to 30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be from 7 to 30."
  }
}

variable "failure_queue_name" {
  description = "Name of the SQS queue that receives on-failure records of the stream's consumers; its dead-letter queue gets the suffix -dlq."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,76}$", var.failure_queue_name))
    error_message = "failure_queue_name must be 1-76 characters of [a-zA-Z0-9_-] (80 with the -dlq suffix)."
  }
}

variable "failure_queue_message_retention_seconds" {
  description = "How long failure records are kept (60 to 1209600 seconds). Defaults to the SQS maximum, 14 days, to leave time for a replay."
  type        = number
  default     = 1209600

  validation {
    condition     = var.failure_queue_message_retention_seconds >= 60 && var.failure_queue_message_retention_seconds <= 1209600
    error_message = "failure_queue_message_retention_seconds must be from 60 to 1209600."
  }
}

variable "failure_queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the failure queue (0 to 43200 seconds): how long a replay has to re-drive one failure record before another reader sees it."
  type        = number
  default     = 300

  validation {
    condition     = var.failure_queue_visibility_timeout_seconds >= 0 && var.failure_queue_visibility_timeout_seconds <= 43200
    error_message = "failure_queue_visibility_timeout_seconds must be from 0 to 43200."
  }
}

variable "failure_queue_max_receive_count" {
  description = "Receives of one failure record before SQS moves it to the dead-letter queue (1 to 1000)."
  type        = number
  default     = 5

  validation {
    condition     = var.failure_queue_max_receive_count >= 1 && var.failure_queue_max_receive_count <= 1000
    error_message = "failure_queue_max_receive_count must be from 1 to 1000."
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
