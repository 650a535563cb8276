"""May CloudWatch publish an alarm's notification to an SNS topic? (AWS's rules, locally.)

CloudWatch publishes as the service principal ``cloudwatch.amazonaws.com`` on behalf of
the alarm, so only resource policies decide (no IAM policy applies to a service):

* the topic's access policy must allow it ``sns:Publish`` (conditions see the alarm's ARN
  as ``aws:SourceArn`` and its account as ``aws:SourceAccount``);
* a topic encrypted with a customer managed key needs that key's policy to allow it
  ``kms:GenerateDataKey*`` and ``kms:Decrypt`` — which is why such a topic cannot use the
  AWS managed key ``alias/aws/sns`` for alarms (its policy names no service).

On AWS a refused notification is lost silently (the alarm's history shows a failed
action); locally it is refused the same way and logged.
"""

from __future__ import annotations

import json
from typing import Any

from shardline.local.iam_policy import Decision, Policy, Principal
from shardline.local.kms_keys import KeyPolicies, resource_key

CLOUDWATCH = Principal.service("cloudwatch.amazonaws.com")


def publish_refusal(topic_arn: str, alarm_arn: str, key_policies: KeyPolicies) -> str | None:
    """Why CloudWatch may not publish the alarm's notification to the topic, else None."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    if len(parts) != 6:
        return f"{topic_arn} is not a topic ARN"
    topic = sns_backends[parts[4]][parts[3]].topics.get(topic_arn)
    if topic is None:
        return f"topic {topic_arn} does not exist"
    context: dict[str, Any] = {"aws:sourcearn": alarm_arn,
                               "aws:sourceaccount": alarm_arn.split(":")[4],
                               # what SNS's default topic policy checks: same account
                               "aws:sourceowner": alarm_arn.split(":")[4],
                               "aws:securetransport": "true"}
    decision = _topic_policy_decision(topic.policy, topic_arn, context)
    if decision is not Decision.ALLOW:
        return f"sns:Publish on {topic_arn} (topic policy: {decision.value})"
    key = resource_key("sns", topic_arn)
    if key is not None:
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            decision = key_policies.decide_for_service(CLOUDWATCH, action, key, context)
            if decision is not Decision.ALLOW:
                return f"{action} on {key.arn} (key policy of the topic's key: {decision.value})"
    return None


def _topic_policy_decision(policy: Any, topic_arn: str, context: dict[str, Any]) -> Decision:
    if not policy:
        return Decision.IMPLICIT_DENY
    document = Policy(policy if isinstance(policy, str) else json.dumps(policy))
    allowed = False
    for statement in document.matching("sns:Publish", topic_arn, context, CLOUDWATCH):
        if statement.deny:
            return Decision.EXPLICIT_DENY
        allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
