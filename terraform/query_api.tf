# The HTTP query API: GET /query on an API Gateway HTTP API, authorized by IAM (SigV4),
# throttled, with CORS for the configured origins, answered by the query function
# (lambdas/query) from the aggregates table; with query_api.page (the default), GET /
# serves the analysts' static page, without authorization and without data. Built when query_api.enabled and its package
# is given (query_package_path). Callers need execute-api:Invoke on its routes: the
# analyst policy grants it (access.tf).

locals {
  query_api_enabled = var.query_api.enabled && var.query_package_path != null
}

module "query_api" {
  source = "./modules/query_api"
  count  = local.query_api_enabled ? 1 : 0

  name_prefix                 = var.prefix
  global_name_prefix          = local.global_name_prefix
  metrics_namespace           = local.metrics_namespace
  package_path                = var.query_package_path
  package_base64sha256        = var.query_package_base64sha256
  runtime                     = var.lambda_runtime
  architecture                = var.lambda_architecture
  layers                      = local.dependency_layers
  log_level                   = var.log_level
  log_retention_in_days       = var.log_retention_in_days
  kms_deletion_window_in_days = var.kms_deletion_window_in_days

  aggregates = {
    table_name  = module.storage.table_name
    table_arn   = module.storage.table_arn
    index_arns  = values(module.storage.index_arns)
    kms_key_arn = module.storage.kms_key_arn
  }

  settings = {
    throttling_burst_limit         = var.query_api.throttling_burst_limit
    throttling_rate_limit          = var.query_api.throttling_rate_limit
    cors_allow_origins             = var.query_api.cors_allow_origins
    cors_max_age                   = var.query_api.cors_max_age
    page                           = var.query_api.page
    page_throttling_burst_limit    = var.query_api.page_throttling_burst_limit
    page_throttling_rate_limit     = var.query_api.page_throttling_rate_limit
    memory_size                    = var.query_api.memory_size
    timeout                        = var.query_api.timeout
    reserved_concurrent_executions = var.query_api.reserved_concurrent_executions
    live_alias                     = var.query_api.live_alias
  }
}

output "query_api_url" {
  description = "Base URL of the HTTP query API (GET <url>/query?site=plant-a&metric=temperature_c); null when it is not deployed."
  value       = one(module.query_api[*].api_url)
}

output "query_page_url" {
  description = "URL of the analysts' page on the HTTP query API (GET /, no authorization: the page signs its own GET /query requests); null when it is not deployed or query_api.page is false."
  value       = one(module.query_api[*].page_url)
}

output "query_api_id" {
  description = "ID of the HTTP query API; null when it is not deployed."
  value       = one(module.query_api[*].api_id)
}

output "query_function_name" {
  description = "Name of the query function behind the HTTP API; null when it is not deployed."
  value       = one(module.query_api[*].function_name)
}
