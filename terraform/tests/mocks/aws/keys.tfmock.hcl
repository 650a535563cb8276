# ARNs of the root module's KMS keys at plan time. Not in mocks/first_apply: there the
# keys' ARNs stay unknown, as on a first apply, so the plan must not depend on them.

override_resource {
  target          = module.quarantine_storage.module.key.aws_kms_key.this
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000c"
  }
}

override_resource {
  target          = module.storage.module.key.aws_kms_key.this
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000b"
  }
}

override_resource {
  target          = module.stream.module.key.aws_kms_key.this
  override_during = plan
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000a"
  }
}
