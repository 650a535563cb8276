"""The settings of an SQS event source mapping, as the Lambda API describes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shardline.local.mappings import POLLING_STATES, SourceArnParts, api_filter_patterns

DEFAULT_BATCH_SIZE = 10
LOCAL_CONCURRENCY_CAP = 10  # the function runtime's default pool size


@dataclass(frozen=True)
class SqsMapping(SourceArnParts):
    """The settings of one SQS event source mapping that the consumer honours."""

    uuid: str
    function_arn: str
    source_arn: str
    state: str
    batch_size: int
    batching_window_s: float
    report_batch_item_failures: bool
    maximum_concurrency: int | None
    filter_patterns: tuple[str, ...] = ()  # FilterCriteria; none: every message is sent

    @property
    def queue_name(self) -> str:
        return self.source_arn.split(":")[5]

    @property
    def fifo(self) -> bool:
        return self.queue_name.endswith(".fifo")

    @property
    def enabled(self) -> bool:
        return self.state in POLLING_STATES

    @property
    def concurrency(self) -> int:
        """Batches that may run at once locally."""
        return max(1, min(self.maximum_concurrency or 1, LOCAL_CONCURRENCY_CAP))

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SqsMapping:
        scaling = data.get("ScalingConfig") or {}
        concurrency = scaling.get("MaximumConcurrency")
        return cls(
            uuid=data["UUID"],
            function_arn=data["FunctionArn"],
            source_arn=data["EventSourceArn"],
            state=data.get("State", "Enabled"),
            batch_size=max(1, int(data.get("BatchSize") or DEFAULT_BATCH_SIZE)),
            batching_window_s=float(data.get("MaximumBatchingWindowInSeconds") or 0),
            report_batch_item_failures="ReportBatchItemFailures"
            in (data.get("FunctionResponseTypes") or []),
            maximum_concurrency=int(concurrency) if concurrency is not None else None,
            filter_patterns=api_filter_patterns(data),
        )
