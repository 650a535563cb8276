output "table_name" {
  description = "Name of the DynamoDB table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the DynamoDB table."
  value       = aws_dynamodb_table.this.arn
}

output "stream_arn" {
  description = "ARN of the table's DynamoDB stream (event source for roll-up consumers); null when stream_enabled is false."
  value       = aws_dynamodb_table.this.stream_arn
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the table."
  value       = module.key.arn
}

output "index_arns" {
  description = "ARN of each global secondary index, by index name (IAM resources for Query on an index)."
  value       = { for index in var.global_secondary_indexes : index.name => "${aws_dynamodb_table.this.arn}/index/${index.name}" }
}

output "stream_view_type" {
  description = "What the table's stream records carry (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES); null when stream_enabled is false."
  value       = aws_dynamodb_table.this.stream_view_type
}
