# What the job reads and writes: the caller writes the least-privilege document, since
# only it knows the resources (this module knows none). Logs and tracing permissions come
# with modules/function.
resource "aws_iam_role_policy" "access" {
  name   = "access"
  role   = module.function.role_name
  policy = var.access_policy_json
}
