# The workers' least-privilege statements (the dispatcher's come from modules/consumer
# plus InvokeWorkers in main.tf).

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  dynamodb_via_service = "dynamodb.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"

  device_state_statements = [
    {
      # One conditional UpdateItem per item (lambdas/device_state/repository.py).
      sid        = "UpdateDeviceState"
      actions    = ["dynamodb:UpdateItem"]
      resources  = [module.device_state_storage.table_arn]
      conditions = []
    },
    {
      # DynamoDB decrypts the table key with the caller's permissions.
      sid       = "DecryptDeviceStateTable"
      actions   = ["kms:Decrypt"]
      resources = [module.device_state_storage.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.dynamodb_via_service]
      }]
    },
    {
      # Lambda sends the on-failure record of an async event with the function's role.
      sid        = "SendToOwnFailureQueue"
      actions    = ["sqs:SendMessage"]
      resources  = [aws_sqs_queue.worker_failures["device_state"].arn]
      conditions = []
    },
  ]
}
