"""Event source mappings as the Lambda API describes them (what Terraform created)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shardline.local.event_filter import FilterPatternError, criteria_patterns
from shardline.local.versions import as_invoked

STREAM_SERVICES = ("kinesis", "dynamodb")


class SourceArnParts:
    """Parts of a mapping's ``source_arn`` (arn:aws:<service>:<region>:<account>:...)."""

    source_arn: str

    @property
    def service(self) -> str:
        return self.source_arn.split(":")[2]

    @property
    def region(self) -> str:
        return self.source_arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.source_arn.split(":")[4]


# Mapping states in which Lambda polls the source (a mapping being created or updated
# keeps polling; Disabled, Disabling and Deleting do not).
POLLING_STATES = frozenset({"Enabled", "Enabling", "Creating", "Updating"})


@dataclass(frozen=True)
class StreamMapping(SourceArnParts):
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
    filter_patterns: tuple[str, ...] = ()  # FilterCriteria; none: every record is sent

    @property
    def is_stream(self) -> bool:
        """A Kinesis stream, Kinesis stream consumer (EFO) or DynamoDB stream mapping."""
        return self.service in STREAM_SERVICES

    @property
    def consumer_arn(self) -> str | None:
        """The stream consumer of an enhanced fan-out mapping, else None."""
        if self.service == "kinesis" and "/consumer/" in self.source_arn:
            return self.source_arn
        return None

    @property
    def stream_arn(self) -> str:
        """The stream records come from (an EFO consumer's parent stream)."""
        return self.source_arn.split("/consumer/")[0]

    @property
    def enabled(self) -> bool:
        return self.state in POLLING_STATES

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
            filter_patterns=api_filter_patterns(data),
        )


def api_filter_patterns(data: dict[str, Any]) -> tuple[str, ...]:
    """The patterns of a mapping's FilterCriteria as the Lambda API returns it."""
    filters = (data.get("FilterCriteria") or {}).get("Filters") or []
    return tuple(str(entry.get("Pattern", "")) for entry in filters)


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)


# -- the embedded AWS's Lambda API, completed where moto falls short ---------------------
_api_lock = threading.Lock()
_api_completed = False
PARALLELIZATION_WITH_WINDOW = ("Parallelization factor must be equal to 1 when tumbling "
                               "window period is configured")


def complete_moto_mapping_api() -> None:
    """Make moto's event-source-mapping API behave as AWS's does where shardline needs it.

    moto (5.2) rejects a Kinesis stream consumer ARN as EventSourceArn (enhanced
    fan-out), never returns StartingPositionTimestamp, accepts a ParallelizationFactor
    above 1 with a tumbling window, and accepts any FilterCriteria (Lambda refuses
    malformed patterns and more than five filters, on create and on update).
    Idempotent; patches moto's backend classes in this process.
    """
    global _api_completed
    with _api_lock:
        if _api_completed:
            return
        from moto.awslambda import models

        backend_cls = models.LambdaBackend
        create = backend_cls.create_event_source_mapping
        update = backend_cls.update_event_source_mapping
        configuration = models.EventSourceMapping.get_configuration

        def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
            if (int(spec.get("TumblingWindowInSeconds") or 0) > 0
                    and int(spec.get("ParallelizationFactor") or 1) != 1):
                from moto.awslambda.exceptions import InvalidParameterValueException

                raise InvalidParameterValueException(PARALLELIZATION_WITH_WINDOW)
            _check_filter_criteria(spec.get("FilterCriteria"),
                                   str(spec.get("EventSourceArn", "")))
            if "/consumer/" in str(spec.get("EventSourceArn", "")):
                return _create_consumer_mapping(self, models, spec)
            esm = create(self, spec)
            # A mapping on an alias invokes the alias (it follows alias updates);
            # moto would store the version the alias points to at creation.
            esm.function_arn = as_invoked(esm.function_arn, str(spec.get("FunctionName")))
            return esm

        def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
            current = self.get_event_source_mapping(uuid)
            if current is not None and "FilterCriteria" in spec:
                _check_filter_criteria(spec["FilterCriteria"], current.event_source_arn)
            esm = update(self, uuid, spec)
            if esm is not None and "FunctionName" in spec:  # onto an alias: as at creation
                esm.function_arn = as_invoked(esm.function_arn, str(spec["FunctionName"]))
            return esm

        def get_configuration(self: Any) -> dict[str, Any]:
            data: dict[str, Any] = configuration(self)
            if self.starting_position_timestamp is not None:
                data["StartingPositionTimestamp"] = self.starting_position_timestamp
            # Set by the engine when the function's role is denied its source.
            if getattr(self, "last_processing_result", None):
                data["LastProcessingResult"] = self.last_processing_result
            return data

        backend_cls.create_event_source_mapping = create_event_source_mapping
        backend_cls.update_event_source_mapping = update_event_source_mapping
        models.EventSourceMapping.get_configuration = get_configuration
        _api_completed = True


def _check_filter_criteria(criteria: dict[str, Any] | None, source_arn: str) -> None:
    """Refuse a FilterCriteria as Lambda does (InvalidParameterValueException)."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    service = source_arn.split(":")[2] if source_arn.count(":") >= 2 else ""
    try:
        criteria_patterns(criteria, service)
    except FilterPatternError as exc:
        raise InvalidParameterValueException(str(exc)) from exc


def _create_consumer_mapping(backend: Any, models: Any, spec: dict[str, Any]) -> Any:
    """A mapping on a registered stream consumer; moto never delivers to it itself."""
    from moto.core.exceptions import JsonRESTError
    from moto.kinesis.models import kinesis_backends

    arn = str(spec["EventSourceArn"])
    streams = kinesis_backends[backend.account_id][backend.region_name].streams.values()
    if not any(stream.get_consumer_by_arn(arn) for stream in streams):
        raise JsonRESTError("ResourceNotFoundException", "Invalid EventSourceArn")
    function = backend._lambdas.get_function_by_name_or_arn_with_qualifier(
        spec.get("FunctionName", ""))
    spec.update(RegionName=backend.region_name, AccountId=backend.account_id,
                FunctionArn=as_invoked(function.function_arn, str(spec["FunctionName"])))
    esm = models.EventSourceMapping(spec)
    backend._event_source_mappings[esm.uuid] = esm
    return esm
