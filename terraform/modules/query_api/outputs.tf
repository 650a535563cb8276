output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_url" {
  # The $default stage serves at the endpoint's root; its invoke_url is the same address
  # with a trailing "/", which would make "<url>/query" a path with two slashes.
  description = "Base URL of the API's $default stage, without a trailing slash (append /query)."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "page_url" {
  description = "URL of the page (GET /, no authorization): the API's endpoint and \"/\"; null when settings.page is false."
  value       = var.settings.page ? "${aws_apigatewayv2_api.this.api_endpoint}/" : null
}

output "execution_arn" {
  description = "The API's execution ARN (arn:...:execute-api:region:account:api-id)."
  value       = local.execution_arn
}

output "route_arns" {
  description = "execute-api:Invoke ARNs of the API's IAM-authorized routes in every stage: what an IAM policy grants to call them (the page, GET /, needs no grant)."
  value       = values(local.route_arns)
}

output "function_name" {
  description = "Name of the query function."
  value       = module.function.function_name
}

output "function_alias_arn" {
  description = "ARN of the query function's `live` alias, which the API invokes."
  value       = module.function.alias_arn
}

output "access_log_group_name" {
  description = "Name of the API's access log group."
  value       = aws_cloudwatch_log_group.access.name
}
