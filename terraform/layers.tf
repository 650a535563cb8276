# Lambda dependencies (Powertools, msgspec, aws-kinesis-agg; lambdas/requirements.lock) as
# a layer built by `shardline package --with-dependencies` for lambda_runtime and
# lambda_architecture, or given as layer ARNs. Without one, functions cannot import their
# dependencies: plan fails (terraform_data.dependencies below), except on the embedded AWS,
# whose runtime runs the handlers with the project's own Python environment
# (dependencies_provided_by_runtime = true in envs/local.tfvars).
resource "aws_lambda_layer_version" "dependencies" {
  count = var.dependencies_layer_path == null ? 0 : 1

  layer_name               = "${var.prefix}-dependencies"
  description              = "shardline Lambda dependencies (lambdas/requirements.lock) for ${var.lambda_runtime} on ${var.lambda_architecture}"
  filename                 = var.dependencies_layer_path
  source_code_hash         = filebase64sha256(var.dependencies_layer_path)
  compatible_runtimes      = [var.lambda_runtime]
  compatible_architectures = [var.lambda_architecture]
}

locals {
  dependency_layers = concat(aws_lambda_layer_version.dependencies[*].arn, var.dependencies_layer_arns)
}

# Plan-time checks of the dependencies (no resource is created in AWS).
resource "terraform_data" "dependencies" {
  input = {
    layers              = length(var.dependencies_layer_arns) + (var.dependencies_layer_path == null ? 0 : 1)
    provided_by_runtime = var.dependencies_provided_by_runtime
  }

  lifecycle {
    precondition {
      condition     = var.dependencies_provided_by_runtime || var.dependencies_layer_path != null || length(var.dependencies_layer_arns) > 0
      error_message = "The functions have no dependencies layer: build it with `shardline package --with-dependencies` and add -var-file=../dist/lambda/packages.tfvars.json (`make deploy` does both), or set dependencies_layer_arns."
    }

    precondition {
      condition     = !var.dependencies_provided_by_runtime || var.local_stack
      error_message = "dependencies_provided_by_runtime = true is for the embedded AWS only (local_stack = true); Lambda itself provides only boto3."
    }

    precondition {
      condition     = var.dependencies_layer_path == null || (var.dependencies_layer_runtime == var.lambda_runtime && var.dependencies_layer_architecture == var.lambda_architecture)
      error_message = "The dependencies layer was not built for lambda_runtime and lambda_architecture: rebuild it with `shardline package --with-dependencies --runtime <lambda_runtime> --architecture <lambda_architecture>` and pass dist/lambda/packages.tfvars.json."
    }
  }
}
