output "arn" {
  description = "ARN of the key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "ID of the key."
  value       = aws_kms_key.this.key_id
}

output "alias" {
  description = "Alias of the key (alias/<name>)."
  value       = aws_kms_alias.this.name
}

output "policy_statements" {
  description = "Statements of the key policy (for assertions)."
  value       = data.aws_iam_policy_document.this.statement
}

output "rotation_enabled" {
  description = "Whether AWS rotates the key's material (always true: checkov and the project require it)."
  value       = aws_kms_key.this.enable_key_rotation
}
