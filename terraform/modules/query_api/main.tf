# The HTTP query API: an API Gateway HTTP API whose GET /query route, authorized by IAM
# (SigV4: the caller needs execute-api:Invoke on the route), invokes the query function's
# `live` alias with payload format 2.0. With settings.page, GET / (no authorization: a
# browser's navigation cannot sign) invokes it too, for the static page whose script signs
# its own GET /query requests; the page holds no data. The $default stage deploys
# automatically, throttles every route (default_route_settings; the open page route at
# lower limits of its own, route_settings) and writes an access log line per request.
#
# HTTP APIs have no request validators (REST APIs do): the function checks every
# parameter and answers 400 with a message (lambdas/query/params.py).

locals {
  # The data routes, all authorized by IAM, with the statement id of the function's
  # permission for each (kept as they are: renaming one replaces the permission).
  routes = { "GET /query" = "AllowHttpApiGetQuery" }
  # The page: no data, no authorization; deployed only with settings.page.
  page_route = "GET /"
  # Every deployed route and its permission's statement id.
  deployed_routes = merge(local.routes, var.settings.page ? { (local.page_route) = "AllowHttpApiGetPage" } : {})
  cors            = length(var.settings.cors_allow_origins) > 0
  # The API's execution ARN, from the caller's account: the provider's own
  # (execution_arn) has no account where it skips requesting it (the local stack).
  execution_arn = "arn:${data.aws_partition.current.partition}:execute-api:${data.aws_region.current.name}:${local.account_id}:${aws_apigatewayv2_api.this.id}"
  # execute-api ARN of each deployed route, in every stage: <api>/<stage>/<METHOD><path>
  # (the root path: <api>/<stage>/GET/).
  source_arns = { for route in keys(local.deployed_routes) : route => "${local.execution_arn}/*/${replace(route, " ", "")}" }
  # What an IAM policy grants execute-api:Invoke on: the IAM-authorized routes only.
  route_arns = { for route in keys(local.routes) : route => local.source_arns[route] }
}

resource "aws_apigatewayv2_api" "this" {
  name          = "${var.name_prefix}-query-api"
  description   = "Statistics of devices, sites and the fleet (shardline query over HTTP)"
  protocol_type = "HTTP"
  tags          = var.tags

  # API Gateway answers preflight requests itself and adds the CORS headers to responses.
  dynamic "cors_configuration" {
    for_each = local.cors ? [var.settings.cors_allow_origins] : []

    content {
      allow_origins = cors_configuration.value
      allow_methods = ["GET"]
      # What a SigV4-signing browser client sends.
      allow_headers = ["authorization", "content-type", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
      max_age       = var.settings.cors_max_age
    }
  }
}

resource "aws_apigatewayv2_integration" "query" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = module.function.alias_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "this" {
  for_each = local.routes

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.key
  authorization_type = "AWS_IAM"
  target             = "integrations/${aws_apigatewayv2_integration.query.id}"
}

# The page: a browser opens it without signing, so it has no authorization. It serves one
# static HTML page and no data; the page's script calls GET /query signed (SigV4).
resource "aws_apigatewayv2_route" "page" {
  #checkov:skip=CKV_AWS_309:GET / serves a static page without data to a browser, which cannot sign a navigation; every data route (GET /query) requires IAM, and settings.page = false removes this route.
  count = var.settings.page ? 1 : 0

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = local.page_route
  authorization_type = "NONE"
  target             = "integrations/${aws_apigatewayv2_integration.query.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_burst_limit = var.settings.throttling_burst_limit
    throttling_rate_limit  = var.settings.throttling_rate_limit
  }

  # The page is open to anyone: its own, lower limits keep a flood of it from taking the
  # function's capacity and the data route's throttle.
  dynamic "route_settings" {
    for_each = aws_apigatewayv2_route.page

    content {
      route_key              = route_settings.value.route_key
      throttling_burst_limit = var.settings.page_throttling_burst_limit
      throttling_rate_limit  = var.settings.page_throttling_rate_limit
    }
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = local.access_log_format
  }
}

# API Gateway may invoke the alias for the deployed routes of this API only.
resource "aws_lambda_permission" "api" {
  for_each = local.deployed_routes

  statement_id  = each.value
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  qualifier     = module.function.alias_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = local.source_arns[each.key]
}
