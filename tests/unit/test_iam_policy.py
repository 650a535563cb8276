"""IAM policy evaluation rules (no AWS needed): GIVEN a policy, WHEN evaluated, THEN the
decision AWS's evaluation logic gives."""

from __future__ import annotations

from typing import Any

import pytest

from shardline.local.iam_policy import Decision, Policy, Principal, evaluate

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/aggregates"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234"


def _policy(*statements: dict[str, Any]) -> Policy:
    return Policy({"Version": "2012-10-17", "Statement": list(statements)})


def test_action_matching_ignores_case_and_resource_matching_does_not() -> None:
    policy = _policy({"Effect": "Allow", "Action": "DynamoDB:query", "Resource": TABLE})
    assert evaluate([policy], "dynamodb:Query", TABLE, {}) is Decision.ALLOW
    assert evaluate([policy], "dynamodb:Query", TABLE.upper(), {}) is Decision.IMPLICIT_DENY


def test_wildcards_and_question_marks() -> None:
    policy = _policy({"Effect": "Allow", "Action": "dynamodb:Get*",
                      "Resource": "arn:aws:dynamodb:*:*:table/aggregate?"})
    assert evaluate([policy], "dynamodb:GetItem", TABLE, {}) is Decision.ALLOW
    assert evaluate([policy], "dynamodb:PutItem", TABLE, {}) is Decision.IMPLICIT_DENY


def test_not_resource_allows_everything_else() -> None:
    policy = _policy({"Effect": "Allow", "Action": "*", "NotResource": TABLE})
    assert evaluate([policy], "dynamodb:Query", TABLE, {}) is Decision.IMPLICIT_DENY
    assert evaluate([policy], "dynamodb:Query", TABLE + "2", {}) is Decision.ALLOW


def test_explicit_deny_in_any_policy_wins() -> None:
    allow = _policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = _policy({"Effect": "Deny", "Action": "dynamodb:*", "Resource": TABLE})
    assert evaluate([allow, deny], "dynamodb:Query", TABLE, {}) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(("operator", "values", "context", "expected"), [
    ("StringEquals", ["kinesis.us-east-1.amazonaws.com"],
     {"kms:viaservice": "kinesis.us-east-1.amazonaws.com"}, True),
    ("StringEquals", ["kinesis.us-east-1.amazonaws.com"], {}, False),
    ("StringEqualsIfExists", ["kinesis.us-east-1.amazonaws.com"], {}, True),
    ("StringNotEquals", ["sqs.us-east-1.amazonaws.com"],
     {"kms:viaservice": "kinesis.us-east-1.amazonaws.com"}, True),
    ("StringLike", ["kinesis.*"], {"kms:viaservice": "kinesis.us-east-1.amazonaws.com"}, True),
    ("Null", ["true"], {}, True),
    ("NumericLessThan", ["5"], {"kms:viaservice": "3"}, True),
    ("NoSuchOperator", ["x"], {"kms:viaservice": "x"}, False),
])
def test_condition_operators(operator: str, values: list[str], context: dict[str, Any],
                             expected: bool) -> None:
    policy = _policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY,
                      "Condition": {operator: {"kms:ViaService": values}}})
    decision = evaluate([policy], "kms:Decrypt", KEY, context)
    assert (decision is Decision.ALLOW) is expected


def test_set_qualifiers() -> None:
    policy = _policy({"Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": TABLE,
                      "Condition": {"ForAllValues:StringEquals": {
                          "dynamodb:LeadingKeys": ["PENDING"]}}})
    allowed = {"dynamodb:leadingkeys": ["PENDING"]}
    mixed = {"dynamodb:leadingkeys": ["PENDING", "OTHER"]}
    assert evaluate([policy], "dynamodb:DeleteItem", TABLE, allowed) is Decision.ALLOW
    assert evaluate([policy], "dynamodb:DeleteItem", TABLE, mixed) is Decision.IMPLICIT_DENY


def test_principals_of_key_policies() -> None:
    session = Principal(arn="arn:aws:sts::123456789012:assumed-role/rollup/s",
                        account="123456789012",
                        role_arn="arn:aws:iam::123456789012:role/rollup")
    by_role = _policy({"Effect": "Allow", "Principal": {"AWS": session.role_arn},
                       "Action": "kms:Decrypt", "Resource": "*"})
    by_root = _policy({"Effect": "Allow",
                       "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                       "Action": "kms:Decrypt", "Resource": "*"})
    other = _policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/x"},
                     "Action": "kms:Decrypt", "Resource": "*"})
    assert list(by_role.matching("kms:Decrypt", KEY, {}, session))
    root_statements = list(by_root.matching("kms:Decrypt", KEY, {}, session))
    assert root_statements and root_statements[0].names_account_root("123456789012")
    assert not list(other.matching("kms:Decrypt", KEY, {}, session))
