# On-failure destination shared by every Lambda consumer of this stream. Lambda sends
# batch metadata here (shard, start/end sequence numbers) once a batch has exhausted
# its retries or its record age, so `shardline dlq replay` can re-read the records from
# the stream. Messages the replay tool cannot handle move to the dead-letter queue.

resource "aws_sqs_queue" "failures_dlq" {
  name                      = "${var.failure_queue_name}-dlq"
  message_retention_seconds = var.failure_queue_message_retention_seconds
  sqs_managed_sse_enabled   = true
  policy                    = data.aws_iam_policy_document.queue_tls_only["failures_dlq"].json
  tags                      = var.tags
}

resource "aws_sqs_queue" "failures" {
  name                       = var.failure_queue_name
  message_retention_seconds  = var.failure_queue_message_retention_seconds
  visibility_timeout_seconds = var.failure_queue_visibility_timeout_seconds
  sqs_managed_sse_enabled    = true
  policy                     = data.aws_iam_policy_document.queue_tls_only["failures"].json

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.failures_dlq.arn
    maxReceiveCount     = var.failure_queue_max_receive_count
  })

  tags = var.tags
}

# No aws_sqs_queue_redrive_allow_policy on the DLQ: AWS's default (allowAll) suffices for
# a queue only this module redrives into, and the embedded AWS (moto) does not implement
# RedriveAllowPolicy, so the provider would wait for it forever.
