"""Fault injection for real boto3 clients talking to a real (embedded or cloud) AWS API.

This is not a mock. The injector hooks a client's botocore events so that the service
really does *not* receive the records it pretends failed, and the caller really does get
the response AWS would have returned:

* ``provide-client-params`` — picks which items of the request fail (seeded, so a run is
  reproducible) and removes them from the request before it is serialised;
* ``before-call`` — for a throttled call, or when every item was picked, answers without
  sending anything (a throttling error, or an all-failed response);
* ``after-call`` — puts failure entries back into the parsed response at the items'
  original positions, exactly as the service reports partial failures.

So a stream read back after a run with injected failures holds exactly the records the
producer was told were accepted — the property the producer's retry logic must preserve.

``BotocoreFaultInjector`` owns the event plumbing, the throttling and the counters; a
subclass says how to withhold items from one operation and how to report them. Only the
Kinesis PutRecords injector exists today; a DynamoDB BatchWriteItem one (``UnprocessedItems``)
is a subclass of the same shape.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from botocore.awsrequest import AWSResponse

_CONTEXT_KEY = "shardline_fault"

PUT_RECORDS_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "InternalFailure",
        "KMSThrottlingException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSAccessDeniedException",
        "KMSNotFoundException",
        "KMSOptInRequired",
    }
)

_PUT_RECORDS_MESSAGES = {
    "ProvisionedThroughputExceededException": "Rate exceeded for shard in stream {stream} "
    "(injected fault).",
    "InternalFailure": "Internal Service Failure (injected fault).",
}


@dataclass(slots=True)
class Withheld:
    """What an injector decided for one call: the params to send (``None``: send nothing)
    and whatever it needs to rebuild the response."""

    params: dict[str, Any] | None
    detail: Any


@dataclass(slots=True)
class _Throttled:
    code: str


class BotocoreFaultInjector:
    """Event plumbing shared by injectors: install/remove, throttling, call counting.

    Subclasses set ``service_id`` / ``operation`` and implement ``withhold``,
    ``empty_response`` and ``restore``. ``throttle_calls`` makes the first N calls fail
    as a whole with ``throttle_error_code`` without reaching the service.
    """

    service_id: ClassVar[str]
    operation: ClassVar[str]
    default_throttle_message: ClassVar[str] = "Rate exceeded (injected fault)."

    def __init__(
        self,
        client: Any,
        *,
        seed: int = 0,
        throttle_calls: int = 0,
        throttle_error_code: str,
    ) -> None:
        if throttle_calls < 0:
            raise ValueError("throttle_calls must be >= 0")
        self.client = client
        self.rng = random.Random(seed)
        self.throttle_calls = throttle_calls
        self.throttle_error_code = throttle_error_code
        self.calls = 0
        self.throttled_calls = 0
        self._installed = False

    # -- subclass hooks ----------------------------------------------------------------

    def withhold(self, params: dict[str, Any]) -> Withheld | None:
        """Pick items to fail; ``None`` leaves the call untouched."""
        raise NotImplementedError

    def empty_response(self) -> dict[str, Any]:
        """The success response the service would give if it had been sent no items."""
        raise NotImplementedError

    def restore(self, parsed: dict[str, Any], detail: Any) -> None:
        """Report the withheld items as failed in the parsed response, in place."""
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------

    def install(self) -> Self:
        for event, handler in self._handlers():
            self.client.meta.events.register(event, handler, unique_id=self._unique_id(event))
        self._installed = True
        return self

    def remove(self) -> None:
        """Unregister the handlers; the client behaves normally again."""
        for event, handler in self._handlers():
            self.client.meta.events.unregister(
                event, handler, unique_id=self._unique_id(event)
            )
        self._installed = False

    @property
    def installed(self) -> bool:
        return self._installed

    def __enter__(self) -> Self:
        return self if self._installed else self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    # -- event handlers ----------------------------------------------------------------

    def _handlers(self) -> list[tuple[str, Any]]:
        suffix = f"{self.service_id}.{self.operation}"
        return [
            (f"provide-client-params.{suffix}", self._on_params),
            (f"before-call.{suffix}", self._on_before_call),
            (f"after-call.{suffix}", self._on_after_call),
        ]

    def _unique_id(self, event: str) -> str:
        return f"shardline-faults:{id(self)}:{event}"

    def _on_params(
        self, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> dict[str, Any] | None:
        self.calls += 1
        if self.throttled_calls < self.throttle_calls:
            self.throttled_calls += 1
            context[_CONTEXT_KEY] = _Throttled(self.throttle_error_code)
            return None
        withheld = self.withhold(params)
        if withheld is None:
            return None
        context[_CONTEXT_KEY] = withheld
        # With nothing left to send, keep the original params so client-side validation
        # (e.g. "at least one record") passes; before-call then answers without sending.
        return withheld.params if withheld.params is not None else params

    def _on_before_call(
        self, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        state = context.get(_CONTEXT_KEY)
        if isinstance(state, _Throttled):
            return _synthetic(400, self._error_body(state.code))
        if isinstance(state, Withheld) and state.params is None:
            return _synthetic(200, self.empty_response())
        return None

    def _on_after_call(
        self, http_response: AWSResponse, parsed: dict[str, Any], context: dict[str, Any],
        **_: Any,
    ) -> None:
        state = context.pop(_CONTEXT_KEY, None)
        if isinstance(state, Withheld) and http_response.status_code < 300:
            self.restore(parsed, state.detail)

    def _error_body(self, code: str) -> dict[str, Any]:
        return {
            "Error": {"Code": code, "Message": self.default_throttle_message},
            "ResponseMetadata": {
                "HTTPStatusCode": 400,
                "RequestId": f"shardline-fault-{self.calls}",
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        }


class PutRecordsFaults(BotocoreFaultInjector):
    """Kinesis PutRecords: each record fails with probability ``failure_rate``.

    A failed record is removed from the request (the stream never sees it) and reported
    with ``ErrorCode`` / ``ErrorMessage`` at its position, ``FailedRecordCount`` adjusted.
    ``error_code`` may be a sequence; each failure then picks one at random.
    """

    service_id = "kinesis"
    operation = "PutRecords"

    def __init__(
        self,
        client: Any,
        *,
        failure_rate: float,
        error_code: str | Sequence[str] = "ProvisionedThroughputExceededException",
        seed: int = 0,
        throttle_calls: int = 0,
        throttle_error_code: str = "ProvisionedThroughputExceededException",
    ) -> None:
        super().__init__(
            client, seed=seed, throttle_calls=throttle_calls,
            throttle_error_code=throttle_error_code,
        )
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        codes = (error_code,) if isinstance(error_code, str) else tuple(error_code)
        unknown = sorted(set(codes) - PUT_RECORDS_ERROR_CODES)
        if not codes or unknown:
            raise ValueError(
                f"error_code must be PutRecords per-record codes, got {unknown or 'none'}"
            )
        self.failure_rate = failure_rate
        self.error_codes = codes
        self.records_seen = 0
        self.failed_records = 0
        self.failures_by_code: Counter[str] = Counter()

    def withhold(self, params: dict[str, Any]) -> Withheld | None:
        records = list(params.get("Records", []))
        self.records_seen += len(records)
        failing = {
            index: self.rng.choice(self.error_codes)
            for index in range(len(records))
            if self.rng.random() < self.failure_rate
        }
        if not failing:
            return None
        self.failed_records += len(failing)
        self.failures_by_code.update(failing.values())
        kept = [record for index, record in enumerate(records) if index not in failing]
        stream = params.get("StreamName") or params.get("StreamARN", "")
        detail = (len(records), failing, stream)
        return Withheld({**params, "Records": kept} if kept else None, detail)

    def empty_response(self) -> dict[str, Any]:
        return {
            "FailedRecordCount": 0,
            "Records": [],
            "EncryptionType": "NONE",
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        }

    def restore(self, parsed: dict[str, Any], detail: Any) -> None:
        total, failing, stream = detail
        written = iter(parsed.get("Records", []))
        parsed["Records"] = [
            self._failure_entry(failing[index], stream) if index in failing else next(written)
            for index in range(total)
        ]
        parsed["FailedRecordCount"] = int(parsed.get("FailedRecordCount", 0)) + len(failing)

    @staticmethod
    def _failure_entry(code: str, stream: str) -> dict[str, str]:
        template = _PUT_RECORDS_MESSAGES.get(code, "{code} (injected fault).")
        message = template.format(code=code, stream=stream)
        return {"ErrorCode": code, "ErrorMessage": message}


def inject_put_records_failures(
    client: Any,
    *,
    failure_rate: float,
    error_code: str | Sequence[str] = "ProvisionedThroughputExceededException",
    seed: int = 0,
    throttle_calls: int = 0,
    throttle_error_code: str = "ProvisionedThroughputExceededException",
) -> PutRecordsFaults:
    """Make ``client``'s PutRecords calls fail partially; returns the installed handle.

    Use the handle's counters (``calls``, ``throttled_calls``, ``records_seen``,
    ``failed_records``, ``failures_by_code``) in assertions and ``remove()`` (or use it as
    a context manager) to restore normal behaviour.
    """
    return PutRecordsFaults(
        client,
        failure_rate=failure_rate,
        error_code=error_code,
        seed=seed,
        throttle_calls=throttle_calls,
        throttle_error_code=throttle_error_code,
    ).install()


def _synthetic(status: int, body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    """A response that never went over the wire, in the shape botocore's parser returns."""
    return AWSResponse(None, status, {}, None), body


__all__ = [
    "PUT_RECORDS_ERROR_CODES",
    "BotocoreFaultInjector",
    "PutRecordsFaults",
    "Withheld",
    "inject_put_records_failures",
]
