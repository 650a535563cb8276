# Every apply that changes the code or configuration publishes a version (an immutable
# snapshot; `$LATEST` stays mutable), and the `live` alias is what everything invokes:
# event source mappings, schedules, the dispatcher's async invokes. Moving the alias is
# a deploy, moving it back a rollback; no mapping, target or permission changes with it.
# See docs/deploys.md for the canary and rollback procedure.

locals {
  published_version = aws_lambda_function.this.version
  live_version      = coalesce(var.live_alias.version, local.published_version)
  # A weighted alias needs two published versions: the pinned one and the new one.
  canary = var.live_alias.canary_weight > 0 && local.live_version != local.published_version
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "What mappings, schedules and callers invoke; moved by deploys and rollbacks."
  function_name    = aws_lambda_function.this.function_name
  function_version = local.live_version

  dynamic "routing_config" {
    for_each = local.canary ? [var.live_alias.canary_weight] : []

    content {
      additional_version_weights = { (local.published_version) = routing_config.value }
    }
  }
}
