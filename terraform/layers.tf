# Lambda dependencies (Powertools, msgspec, aws-kinesis-agg) as a layer built by
# `shardline package --with-dependencies`, for real AWS. The local stack leaves it out:
# its runtime runs the handlers with the project's own Python environment.
resource "aws_lambda_layer_version" "dependencies" {
  count = var.dependencies_layer_path == null ? 0 : 1

  layer_name          = "${var.prefix}-dependencies"
  description         = "shardline Lambda dependencies (lambdas/requirements.txt)"
  filename            = var.dependencies_layer_path
  source_code_hash    = filebase64sha256(var.dependencies_layer_path)
  compatible_runtimes = ["python3.12"]
}

locals {
  aggregator_layers = concat(aws_lambda_layer_version.dependencies[*].arn, var.dependencies_layer_arns)
}
