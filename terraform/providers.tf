provider "aws" {
  region = var.region

  # For the embedded AWS (moto) on a laptop or in CI. The endpoint is not configured
  # here: it comes from the AWS_ENDPOINT_URL environment variable, so the same
  # configuration applies unchanged to real AWS.
  skip_credentials_validation = var.local_stack
  skip_requesting_account_id  = var.local_stack
  skip_metadata_api_check     = var.local_stack
  s3_use_path_style           = var.local_stack

  # Plan and apply fail against any other account. Not on the local stack: its provider
  # does not request the account id (skip_requesting_account_id), so it has none to check.
  allowed_account_ids = var.local_stack || length(var.allowed_account_ids) == 0 ? null : var.allowed_account_ids

  default_tags {
    tags = merge(var.tags, {
      Project     = "shardline"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
