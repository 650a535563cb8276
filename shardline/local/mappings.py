"""Event source mappings as the Lambda API describes them (what Terraform created)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StreamMapping:
    """The settings of one stream event source mapping that the engine honours."""

    uuid: str
    function_arn: str
    source_arn: str
    state: str
    batch_size: int
    batching_window_s: float
    parallelization_factor: int
    starting_position: str
    starting_position_timestamp: datetime | None
    tumbling_window_s: int
    bisect: bool
    report_batch_item_failures: bool
    maximum_retry_attempts: int
    maximum_record_age_s: int
    on_failure_arn: str | None

    @property
    def service(self) -> str:
        return self.source_arn.split(":")[2]

    @property
    def region(self) -> str:
        return self.source_arn.split(":")[3]

    @property
    def enabled(self) -> bool:
        return self.state in ("Enabled", "Enabling", "Creating", "Updating")

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> StreamMapping:
        destination = (data.get("DestinationConfig") or {}).get("OnFailure") or {}
        return cls(
            uuid=data["UUID"],
            function_arn=data["FunctionArn"],
            source_arn=data["EventSourceArn"],
            state=data.get("State", "Enabled"),
            batch_size=int(data.get("BatchSize") or 100),
            batching_window_s=float(data.get("MaximumBatchingWindowInSeconds") or 0),
            parallelization_factor=int(data.get("ParallelizationFactor") or 1),
            starting_position=data.get("StartingPosition") or "TRIM_HORIZON",
            starting_position_timestamp=data.get("StartingPositionTimestamp"),
            tumbling_window_s=int(data.get("TumblingWindowInSeconds") or 0),
            bisect=bool(data.get("BisectBatchOnFunctionError")),
            report_batch_item_failures="ReportBatchItemFailures"
            in (data.get("FunctionResponseTypes") or []),
            maximum_retry_attempts=_int_or(data.get("MaximumRetryAttempts"), -1),
            maximum_record_age_s=_int_or(data.get("MaximumRecordAgeInSeconds"), -1),
            on_failure_arn=destination.get("Destination"),
        )


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)
