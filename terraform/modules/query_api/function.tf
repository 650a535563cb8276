# The query function: reads the aggregates table (Query on the table and its indexes,
# decrypting its key through DynamoDB), nothing else. API Gateway invokes its `live` alias.

module "function" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable, as for every function.
  #checkov:skip=CKV_AWS_117:Reaches only DynamoDB over its public endpoint; no VPC resources to protect.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway; the caller gets the error and retries, so there is no event to keep in a DLQ.
  source = "../function"

  function_name                  = "${var.name_prefix}-query"
  role_name                      = "${var.global_name_prefix}-query"
  description                    = "Answers the HTTP query API: statistics of a device, a site or the fleet"
  package_path                   = var.package_path
  package_base64sha256           = var.package_base64sha256
  handler                        = "lambdas.query.handler.lambda_handler"
  runtime                        = var.runtime
  architecture                   = var.architecture
  memory_size                    = var.settings.memory_size
  timeout                        = var.settings.timeout
  reserved_concurrent_executions = var.settings.reserved_concurrent_executions
  layers                         = var.layers
  log_retention_in_days          = var.log_retention_in_days
  log_group_kms_key_arn          = module.logs_key.arn
  live_alias                     = var.settings.live_alias
  tags                           = var.tags

  environment_variables = {
    AGGREGATES_TABLE             = var.aggregates.table_name
    POWERTOOLS_SERVICE_NAME      = "query"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    LOG_LEVEL                    = var.log_level
    # Traces keep timings, not answers: the rows (and the page) stay out of X-Ray. The
    # event holds the caller's signature and session token: never log it
    # (POWERTOOLS_LOGGER_LOG_EVENT stays unset).
    POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
  }

  policy_statements = [
    {
      sid       = "QueryAggregates"
      actions   = ["dynamodb:Query"]
      resources = concat([var.aggregates.table_arn], var.aggregates.index_arns)
    },
    {
      sid       = "DecryptTableThroughDynamoDB"
      actions   = ["kms:Decrypt"]
      resources = [var.aggregates.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"]
      }]
    },
  ]
}
