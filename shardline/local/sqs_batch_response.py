"""Which messages of an SQS batch failed, judged from the invocation's result by
Lambda's rules for SQS responses (listed in ``sqs_source``)."""

from __future__ import annotations

from dataclasses import dataclass

from shardline.local.functions import InvocationResult
from shardline.local.sqs_records import QueueMessage


@dataclass(frozen=True, slots=True)
class SqsVerdict:
    outcome: str
    failed: frozenset[str]


def judge(result: InvocationResult, batch: list[QueueMessage],
          report_batch_item_failures: bool) -> SqsVerdict:
    """Which messages of ``batch`` failed, by Lambda's rules for SQS responses."""
    everything = frozenset(m.message_id for m in batch)
    if not result.ok:
        return SqsVerdict("error", everything)
    if not report_batch_item_failures:
        return SqsVerdict("ok", frozenset())
    payload = result.payload
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures is None or failures == []:
        return SqsVerdict("ok", frozenset())
    if not isinstance(failures, list):
        return SqsVerdict("invalid_response", everything)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return SqsVerdict("invalid_response", everything)
        failed.add(identifier)
    return SqsVerdict("partial", frozenset(failed))
