variable "alias" {
  description = "Alias of the key, alias/<name> (unique in the account and region)."
  type        = string

  validation {
    condition     = can(regex("^alias/[a-zA-Z0-9/_-]{1,250}$", var.alias)) && !startswith(var.alias, "alias/aws/")
    error_message = "alias must be alias/<name> (letters, digits, / _ -) and not start with alias/aws/, which AWS reserves."
  }
}

variable "description" {
  description = "Description of the key: what it encrypts."
  type        = string

  validation {
    condition     = length(var.description) <= 8192
    error_message = "description must be at most 8192 characters."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period before the key is deleted after destroy (7 to 30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days must be a whole number from 7 to 30."
  }
}

variable "usage_statements" {
  description = "Who may use the key, after the account's administration statement: per statement its sid, the kms: actions, service_principal (e.g. cloudwatch.amazonaws.com; null = principals of this account whose IAM policies allow it too), via_service (only through that service endpoint, e.g. kinesis.us-east-1.amazonaws.com; null = directly) caller_account_only (only callers of this account) encryption_context (only when the encryption context key, e.g. aws:logs:arn, names one of arns: ArnLike) and source_arns (a service principal acting only for these resources of this account: aws:SourceArn ArnLike and aws:SourceAccount, against the confused deputy)."
  type = list(object({
    sid                 = string
    actions             = list(string)
    service_principal   = optional(string)
    via_service         = optional(string)
    caller_account_only = optional(bool, true)
    encryption_context = optional(object({
      key  = string
      arns = list(string)
    }))
    source_arns = optional(list(string))
  }))
  nullable = false

  validation {
    condition     = alltrue([for statement in var.usage_statements : statement.service_principal == null || !statement.caller_account_only])
    error_message = "A statement for a service_principal needs caller_account_only = false (kms:CallerAccount is the service's own account there): scope it with source_arns instead."
  }

  validation {
    condition     = alltrue([for statement in var.usage_statements : statement.source_arns == null || statement.service_principal != null])
    error_message = "source_arns (aws:SourceArn, aws:SourceAccount) scopes a service_principal statement; principals of the account are scoped by their IAM policies."
  }

  validation {
    condition     = length(var.usage_statements) > 0
    error_message = "usage_statements needs at least one statement: a key nobody may use encrypts nothing."
  }

  validation {
    condition     = alltrue([for statement in var.usage_statements : can(regex("^[A-Za-z0-9]+$", statement.sid)) && statement.sid != "KeyAdministrationByAccount"])
    error_message = "Each usage statement's sid must be letters and digits, and not KeyAdministrationByAccount (the module's own statement)."
  }

  validation {
    condition     = alltrue([for statement in var.usage_statements : length(statement.actions) > 0 && alltrue([for action in statement.actions : startswith(action, "kms:") && action != "kms:*"])])
    error_message = "Each usage statement needs kms: actions, named (not kms:*)."
  }
}

variable "tags" {
  description = "Tags of the key (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
