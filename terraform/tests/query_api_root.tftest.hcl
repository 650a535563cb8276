# Plan-only tests of the HTTP query API as the root module wires it (terraform/query_api.tf):
# built only when enabled with a package, fed the aggregates table, and granted to the
# analyst policy. Mocked AWS provider; needs Terraform >= 1.11.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

override_resource {
  target          = module.query_api[0].aws_apigatewayv2_api.this
  override_during = plan
  values = {
    id           = "a1b2c3d4e5"
    api_endpoint = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
  }
}

variables {
  aggregator_package_path         = "aggregator.zip"
  aggregator_package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  dependencies_layer_arns         = ["arn:aws:lambda:us-east-1:123456789012:layer:shardline-dependencies:1"]
  query_package_path              = "query.zip"
  query_package_base64sha256      = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
}

run "disabled_by_default" {
  command = plan

  assert {
    condition     = length(module.query_api) == 0 && output.query_api_url == null && output.query_page_url == null
    error_message = "Without query_api.enabled there is no HTTP API (and no URL)."
  }

  assert {
    condition     = !contains([for statement in data.aws_iam_policy_document.analyst.statement : statement.sid], "InvokeQueryApi")
    error_message = "Without the API the analyst policy grants no execute-api:Invoke."
  }
}

run "enabled_it_reads_the_aggregates_and_analysts_may_invoke_it" {
  command = plan

  variables {
    query_api = {
      enabled = true
    }
  }

  assert {
    condition     = module.query_api[0].function_name == "shardline-query"
    error_message = "query_api.enabled with a package deploys the API and its function."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.analyst.statement : toset(statement.actions) if statement.sid == "InvokeQueryApi"]) == toset(["execute-api:Invoke"]) &&
      one([for statement in data.aws_iam_policy_document.analyst.statement : toset(statement.resources) if statement.sid == "InvokeQueryApi"]) == toset(["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/query"])
    )
    error_message = "The analyst policy grants execute-api:Invoke on the API's routes only."
  }
}

run "enabled_it_serves_the_page_by_default" {
  command = plan

  variables {
    query_api = {
      enabled = true
    }
  }

  assert {
    condition = (
      module.query_api[0].page_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/" &&
      output.query_page_url == module.query_api[0].page_url
    )
    error_message = "query_api.page defaults to true: the root exposes the page's URL."
  }
}

run "page_false_drops_the_page_url" {
  command = plan

  variables {
    query_api = {
      enabled = true
      page    = false
    }
  }

  assert {
    condition     = output.query_page_url == null && module.query_api[0].route_arns == ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/query"]
    error_message = "query_api.page = false reaches the module: no page URL, GET /query still deployed."
  }
}

run "enabled_without_a_package_builds_nothing" {
  command = plan

  variables {
    query_api          = { enabled = true }
    query_package_path = null
  }

  assert {
    condition     = length(module.query_api) == 0
    error_message = "No package, no API."
  }
}
