# Plan-only tests of modules/query_api on its own: the HTTP API, its IAM-authorized
# route and its unauthenticated page route (settings.page), the AWS_PROXY integration (payload 2.0) on the function's live alias, the stage's
# throttling and access log, CORS, the invoke permission, the function's least-privilege
# statements and the validation of the settings. Needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

override_resource {
  target          = module.function.aws_lambda_alias.live
  override_during = plan
  values = {
    arn  = "arn:aws:lambda:us-east-1:123456789012:function:shardline-query:live"
    name = "live"
  }
}

override_resource {
  target          = aws_apigatewayv2_api.this
  override_during = plan
  values = {
    id            = "a1b2c3d4e5"
    execution_arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"
    api_endpoint  = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
  }
}

override_resource {
  target          = aws_apigatewayv2_integration.query
  override_during = plan
  values = {
    id = "int0001"
  }
}

override_resource {
  target          = module.logs_key.aws_kms_key.this
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000001"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.access
  override_during = plan
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/shardline-query-api"
  }
}

variables {
  name_prefix          = "shardline"
  global_name_prefix   = "shardline-test"
  metrics_namespace    = "shardline/test"
  package_path         = "query.zip"
  package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  runtime              = "python3.12"
  architecture         = "x86_64"
  aggregates = {
    table_name  = "shardline-aggregates"
    table_arn   = "arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates"
    index_arns  = ["arn:aws:dynamodb:us-east-1:123456789012:table/shardline-aggregates/index/by_hour"]
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000002"
  }
  settings = {
    throttling_burst_limit = 20
    throttling_rate_limit  = 10
    cors_allow_origins     = ["https://analytics.example.com"]
    cors_max_age           = 300
    memory_size            = 512
    timeout                = 10
  }
}

run "the_route_is_iam_authorized_and_proxies_to_the_live_alias" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  assert {
    condition     = aws_apigatewayv2_api.this.protocol_type == "HTTP"
    error_message = "The query API is an HTTP API."
  }

  assert {
    condition     = aws_apigatewayv2_route.this["GET /query"].authorization_type == "AWS_IAM"
    error_message = "GET /query must be authorized by IAM (SigV4)."
  }

  assert {
    condition = (
      aws_apigatewayv2_integration.query.integration_type == "AWS_PROXY" &&
      aws_apigatewayv2_integration.query.payload_format_version == "2.0" &&
      aws_apigatewayv2_integration.query.integration_uri == "arn:aws:lambda:us-east-1:123456789012:function:shardline-query:live"
    )
    error_message = "The route proxies to the function's live alias with payload format 2.0."
  }

  assert {
    condition = (
      aws_lambda_permission.api["GET /query"].principal == "apigateway.amazonaws.com" &&
      aws_lambda_permission.api["GET /query"].qualifier == "live" &&
      aws_lambda_permission.api["GET /query"].source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/query"
    )
    error_message = "Only this API's GET /query route may invoke the live alias."
  }

  assert {
    condition     = output.route_arns == ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/query"]
    error_message = "The route ARNs (for execute-api:Invoke grants) name the API, any stage, the method and the path, of the IAM-authorized routes only (not the page's)."
  }
}

run "the_page_is_served_without_authorization_and_only_the_data_route_needs_iam" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  assert {
    condition = (
      length(aws_apigatewayv2_route.page) == 1 &&
      aws_apigatewayv2_route.page[0].route_key == "GET /" &&
      aws_apigatewayv2_route.page[0].authorization_type == "NONE" &&
      aws_apigatewayv2_route.page[0].target == "integrations/int0001" &&
      aws_apigatewayv2_route.this["GET /query"].target == "integrations/int0001"
    )
    error_message = "By default GET / serves the page, unauthenticated, from the same integration as GET /query."
  }

  assert {
    condition     = keys(aws_apigatewayv2_route.this) == ["GET /query"] && aws_apigatewayv2_route.this["GET /query"].authorization_type == "AWS_IAM"
    error_message = "GET /query stays the only data route, authorized by IAM."
  }

  assert {
    condition = (
      toset(keys(aws_lambda_permission.api)) == toset(concat(keys(aws_apigatewayv2_route.this), aws_apigatewayv2_route.page[*].route_key)) &&
      toset([for permission in aws_lambda_permission.api : permission.source_arn]) == toset([
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/query",
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/",
      ])
    )
    error_message = "API Gateway may invoke the alias for exactly the deployed routes: GET /query and the root path's GET (<api>/*/GET/)."
  }

  assert {
    condition = (
      aws_lambda_permission.api["GET /query"].statement_id == "AllowHttpApiGetQuery" &&
      aws_lambda_permission.api["GET /"].statement_id == "AllowHttpApiGetPage" &&
      aws_lambda_permission.api["GET /"].qualifier == "live" &&
      aws_lambda_permission.api["GET /"].principal == "apigateway.amazonaws.com"
    )
    error_message = "Each route's permission has a stable statement id (GET /query's unchanged) and targets the live alias."
  }

  assert {
    condition     = output.page_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/"
    error_message = "page_url is the API's endpoint and \"/\"."
  }

  assert {
    condition = (
      length(aws_apigatewayv2_stage.default.route_settings) == 1 &&
      one(aws_apigatewayv2_stage.default.route_settings).route_key == "GET /" &&
      one(aws_apigatewayv2_stage.default.route_settings).throttling_burst_limit == 10 &&
      one(aws_apigatewayv2_stage.default.route_settings).throttling_rate_limit == 2
    )
    error_message = "The open page route has its own, lower throttling (burst 10, 2 per second by default)."
  }
}

run "without_the_page_only_the_data_route_is_deployed" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  variables {
    settings = merge(var.settings, { page = false })
  }

  assert {
    condition     = length(aws_apigatewayv2_route.page) == 0 && keys(aws_apigatewayv2_route.this) == ["GET /query"] && aws_apigatewayv2_route.this["GET /query"].authorization_type == "AWS_IAM"
    error_message = "page = false leaves GET /query, authorized by IAM, as the only route."
  }

  assert {
    condition = (
      keys(aws_lambda_permission.api) == ["GET /query"] &&
      aws_lambda_permission.api["GET /query"].source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/query"
    )
    error_message = "Without the page, API Gateway may invoke the alias for GET /query only."
  }

  assert {
    condition     = output.page_url == null
    error_message = "Without the page there is no page_url."
  }

  assert {
    condition     = length(aws_apigatewayv2_stage.default.route_settings) == 0
    error_message = "Without the page the stage has no route-level throttling."
  }
}

run "the_stage_throttles_and_logs_to_an_encrypted_group" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  assert {
    condition = (
      aws_apigatewayv2_stage.default.name == "$default" &&
      aws_apigatewayv2_stage.default.auto_deploy &&
      aws_apigatewayv2_stage.default.default_route_settings[0].throttling_burst_limit == 20 &&
      aws_apigatewayv2_stage.default.default_route_settings[0].throttling_rate_limit == 10
    )
    error_message = "The $default stage deploys automatically and throttles every route as configured."
  }

  assert {
    condition     = aws_apigatewayv2_stage.default.access_log_settings[0].destination_arn == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/shardline-query-api"
    error_message = "The stage writes its access log to the API's log group."
  }

  assert {
    condition     = aws_cloudwatch_log_group.access.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000001" && module.logs_key.rotation_enabled
    error_message = "The access log is encrypted with the API's rotated log key."
  }

  assert {
    condition = anytrue([
      for statement in module.logs_key.policy_statements : (
        statement.sid == "CloudWatchLogsEncryptsTheseLogGroups" &&
        anytrue([for condition in statement.condition : (
          condition.test == "ArnLike" &&
          condition.variable == "kms:EncryptionContext:aws:logs:arn" &&
          toset(condition.values) == toset([
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/shardline-query-api",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/shardline-query",
          ])
        )])
      )
    ])
    error_message = "CloudWatch Logs may use the log key only for the API's access log and the function's log group."
  }
}

run "cors_allows_the_configured_origins_only" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  assert {
    condition = (
      aws_apigatewayv2_api.this.cors_configuration[0].allow_origins == toset(["https://analytics.example.com"]) &&
      aws_apigatewayv2_api.this.cors_configuration[0].allow_methods == toset(["GET"]) &&
      contains(aws_apigatewayv2_api.this.cors_configuration[0].allow_headers, "authorization")
    )
    error_message = "CORS allows the configured origins, GET, and the SigV4 headers."
  }
}

run "no_origins_means_no_cors" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  variables {
    settings = {
      throttling_burst_limit = 20
      throttling_rate_limit  = 10
      cors_allow_origins     = []
      cors_max_age           = 300
      memory_size            = 512
      timeout                = 10
    }
  }

  assert {
    condition     = length(aws_apigatewayv2_api.this.cors_configuration) == 0
    error_message = "Without origins the API has no CORS configuration."
  }
}

run "the_function_may_only_query_the_aggregates" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  assert {
    condition = (
      tolist(module.function.policy_statements[0].actions) == tolist(["dynamodb:Query"]) &&
      tolist(module.function.policy_statements[0].resources) == tolist(concat([var.aggregates.table_arn], var.aggregates.index_arns)) &&
      tolist(module.function.policy_statements[1].actions) == tolist(["kms:Decrypt"]) &&
      tolist(module.function.policy_statements[1].resources) == tolist([var.aggregates.kms_key_arn]) &&
      length(module.function.policy_statements) == 2
    )
    error_message = "The function's role allows Query on the table and its indexes and Decrypt of its key, nothing else."
  }

  assert {
    condition     = module.function.settings.environment_variables["AGGREGATES_TABLE"] == "shardline-aggregates" && module.function.settings.timeout == 10 && module.function.settings.memory_size == 512
    error_message = "The function is told its table and gets the configured memory and timeout."
  }
}

run "rejects_a_timeout_longer_than_api_gateway_waits" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  variables {
    settings = {
      throttling_burst_limit = 20
      throttling_rate_limit  = 10
      cors_allow_origins     = []
      cors_max_age           = 300
      memory_size            = 512
      timeout                = 60
    }
  }

  expect_failures = [var.settings]
}

run "rejects_an_origin_with_a_path" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  variables {
    settings = {
      throttling_burst_limit = 20
      throttling_rate_limit  = 10
      cors_allow_origins     = ["https://analytics.example.com/page"]
      cors_max_age           = 300
      memory_size            = 512
      timeout                = 10
    }
  }

  expect_failures = [var.settings]
}

run "rejects_a_zero_rate" {
  command = plan

  module {
    source = "./modules/query_api"
  }

  variables {
    settings = {
      throttling_burst_limit = 20
      throttling_rate_limit  = 0
      cors_allow_origins     = []
      cors_max_age           = 300
      memory_size            = 512
      timeout                = 10
    }
  }

  expect_failures = [var.settings]
}
