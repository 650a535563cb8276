variable "table_name" {
  description = "Name of the DynamoDB table; also the name of its KMS key alias."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of [a-zA-Z0-9_.-]."
  }
}

variable "hash_key" {
  description = "Name of the partition key attribute (type S)."
  type        = string
  default     = "PK"

  validation {
    condition     = length(var.hash_key) >= 1 && length(var.hash_key) <= 255
    error_message = "hash_key must be 1-255 characters."
  }
}

variable "range_key" {
  description = "Name of the sort key attribute (type S)."
  type        = string
  default     = "SK"

  validation {
    condition     = length(var.range_key) >= 1 && length(var.range_key) <= 255
    error_message = "range_key must be 1-255 characters."
  }
}

variable "global_secondary_indexes" {
  description = "Global secondary indexes, keyed by string attributes: name, hash_key, optional range_key, projection_type (ALL, KEYS_ONLY or INCLUDE) and, for INCLUDE, non_key_attributes."
  type = list(object({
    name               = string
    hash_key           = string
    range_key          = optional(string)
    projection_type    = string
    non_key_attributes = optional(list(string), [])
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for index in var.global_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], index.projection_type)])
    error_message = "projection_type must be ALL, KEYS_ONLY or INCLUDE."
  }

  validation {
    condition     = alltrue([for index in var.global_secondary_indexes : index.projection_type != "INCLUDE" || length(index.non_key_attributes) > 0])
    error_message = "An INCLUDE projection needs non_key_attributes."
  }

  validation {
    condition     = alltrue([for index in var.global_secondary_indexes : can(regex("^[a-zA-Z0-9_.-]{3,255}$", index.name))])
    error_message = "Index names must be 3-255 characters of [a-zA-Z0-9_.-]."
  }

  validation {
    condition     = length(var.global_secondary_indexes) <= 20
    error_message = "A table has at most 20 global secondary indexes."
  }
}

variable "ttl_attribute_name" {
  description = "Attribute holding the item's expiry time in epoch seconds; DynamoDB deletes expired items eventually (readers must filter them)."
  type        = string
  default     = "expires_at"

  validation {
    condition     = length(var.ttl_attribute_name) >= 1 && length(var.ttl_attribute_name) <= 255
    error_message = "ttl_attribute_name must be 1-255 characters."
  }
}

variable "stream_view_type" {
  description = "What the table's DynamoDB stream records carry: KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES."
  type        = string
  default     = "NEW_AND_OLD_IMAGES"

  validation {
    condition     = contains(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"], var.stream_view_type)
    error_message = "stream_view_type must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES."
  }
}

variable "stream_enabled" {
  description = "Whether the table has a DynamoDB stream (of stream_view_type); turn off for tables nothing consumes."
  type        = bool
  default     = true
  nullable    = false
}

variable "deletion_protection_enabled" {
  description = "Whether DynamoDB refuses to delete the table (turn off only for throwaway environments)."
  type        = bool
  default     = true
  nullable    = false
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the table's KMS key is deleted after destroy (7 to 30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be from 7 to 30."
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
