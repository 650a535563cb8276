# The execution role and the policies every function needs: its own logs and, when
# tracing is active, X-Ray. Wrappers attach what the function reads and writes to this
# role (output role_name), one policy per concern.

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.function_name
  description        = "Execution role of the ${var.function_name} Lambda function"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

# Logs: write to the function's own log group only (Terraform creates the group).
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

# X-Ray: trace segments. These actions have no resource-level permissions.
data "aws_iam_policy_document" "tracing" {
  count = var.tracing_mode == "Active" ? 1 : 0

  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "tracing" {
  count = var.tracing_mode == "Active" ? 1 : 0

  name   = "tracing"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.tracing[0].json
}
