# ---------------------------------------------------------------------------
# HTTP query API (terraform/query_api.tf; modules/query_api validates the settings)
# ---------------------------------------------------------------------------

variable "query_api" {
  description = "The HTTP query API: enabled (built only when query_package_path is given too), throttling of every route (burst and steady requests per second), the origins CORS allows (empty: no CORS headers, same-origin callers only) and how long browsers cache a preflight, page (default true: GET / serves a static page without data, unauthenticated because a browser cannot sign a navigation, whose script signs its GET /query requests; false removes the route) and that route's own throttling (page_throttling_burst_limit, default 10; page_throttling_rate_limit, default 2 per second), the query function's memory (MB), timeout (s, at most 29), reserved concurrency and `live` alias."
  type = object({
    enabled                        = optional(bool, false)
    throttling_burst_limit         = optional(number, 20)
    throttling_rate_limit          = optional(number, 10)
    cors_allow_origins             = optional(list(string), [])
    cors_max_age                   = optional(number, 300)
    page                           = optional(bool, true)
    page_throttling_burst_limit    = optional(number, 10)
    page_throttling_rate_limit     = optional(number, 2)
    memory_size                    = optional(number, 512)
    timeout                        = optional(number, 10)
    reserved_concurrent_executions = optional(number)
    live_alias = optional(object({
      version       = optional(string)
      canary_weight = optional(number, 0)
    }), {})
  })
  default  = {}
  nullable = false
}

variable "query_package_path" {
  description = "Path of the query function's zip built by `make package`, relative to this directory or absolute; null deploys no HTTP query API."
  type        = string
  default     = null

  validation {
    condition     = var.query_package_path == null || can(regex("\\.zip$", var.query_package_path))
    error_message = "query_package_path must point to a .zip file."
  }
}

variable "query_package_base64sha256" {
  description = "Base64-encoded SHA-256 of the query zip; null computes it from the file."
  type        = string
  default     = null

  validation {
    condition     = var.query_package_base64sha256 == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", var.query_package_base64sha256))
    error_message = "query_package_base64sha256 must be a base64-encoded SHA-256 digest (44 characters)."
  }
}
