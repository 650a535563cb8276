# Quarantine store: every user record the aggregator rejects (undecodable or outside the
# telemetry contract) is kept here with its raw bytes, the reason, the shard and the
# sequence numbers, and so is every losing version of a conflicting reading the rollup
# finds (same device, boot and seq, other content), for `shardline quarantine list`. Items expire after
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
  # What its two writers, the aggregator (main.tf) and the rollup (rollup.tf), get: the
  # table's name and retention in their environment, item writes to it (and its key) in
  # their least-privilege roles.
  quarantine_writer_environment = {
    QUARANTINE_TABLE          = module.quarantine_storage.table_name
    QUARANTINE_RETENTION_DAYS = tostring(var.quarantine_retention_days)
  }
  quarantine_writer_table_arns   = [module.quarantine_storage.table_arn]
  quarantine_writer_kms_key_arns = [module.quarantine_storage.kms_key_arn]
}
