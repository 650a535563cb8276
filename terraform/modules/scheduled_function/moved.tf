# The function, its log group, role and base policies moved into modules/function:
# these blocks let existing deployments keep them (a state move, no replacement).
# Keep them until every deployment has applied this version.

moved {
  from = aws_cloudwatch_log_group.this
  to   = module.function.aws_cloudwatch_log_group.this
}

moved {
  from = aws_lambda_function.this
  to   = module.function.aws_lambda_function.this
}

moved {
  from = aws_iam_role.this
  to   = module.function.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.logs
  to   = module.function.aws_iam_role_policy.logs
}

moved {
  from = aws_iam_role_policy.tracing
  to   = module.function.aws_iam_role_policy.tracing
}

# The access policy moved into modules/function (one access policy per function, attached
# before the function is created).
moved {
  from = aws_iam_role_policy.access
  to   = module.function.aws_iam_role_policy.access[0]
}
