# Quarantine store: every user record the aggregator rejects (undecodable or outside the
# telemetry contract) is kept here with its raw bytes, the reason, the shard and the
# sequence numbers, for `shardline quarantine list`. Items expire after
# quarantine_retention_days (TTL on expires_at); nothing consumes the table, so it has
# no stream.

locals {
  quarantine_table = "${var.prefix}-quarantine"
}

module "quarantine_storage" {
  source = "./modules/storage"

  table_name                  = local.quarantine_table
  stream_enabled              = false
  ttl_attribute_name          = "expires_at"
  deletion_protection_enabled = var.quarantine_table_deletion_protection
  kms_deletion_window_in_days = var.kms_deletion_window_in_days
}

locals {
  # What the aggregator gets (main.tf, module "aggregator"): the table's name and
  # retention in its environment, item writes to it in its least-privilege role.
  aggregator_quarantine_environment = {
    QUARANTINE_TABLE          = module.quarantine_storage.table_name
    QUARANTINE_RETENTION_DAYS = tostring(var.quarantine_retention_days)
  }
  aggregator_quarantine_table_arns   = [module.quarantine_storage.table_arn]
  aggregator_quarantine_kms_key_arns = [module.quarantine_storage.kms_key_arn]
}
