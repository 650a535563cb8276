"""A test-only wrapper around the aggregator's handler that fails the records of named
devices, as a bug in the aggregator would: a drill for bisect, retries, the on-failure
destination and ``shardline dlq replay``.

Two ways to use it:

* **deployed**: a zip of the aggregator's package plus this module, with the handler
  ``tests.support.poison_aggregator.lambda_handler`` and ``POISON_DEVICE_IDS`` (comma
  separated) in the function's environment (``tests.support.deploy.WrappedFunction``). It
  imports only what the aggregator's zip holds, so it runs wherever the aggregator runs;
  deploying the plain package and handler again "fixes the bug".
* **in-process**: ``poisoned(handler, device_ids)`` wraps a handler callable.

A record is poisoned when one of its user records is valid telemetry of a named device
(an invalid record is quarantined by the aggregator, never failed). The wrapper gives the
answer the aggregator gives when processing raises at that record:

* the batch's first record, or a record of an invocation that closes its window: the
  invocation fails (a function error, which Lambda bisects);
* a later record of an open window: the records before it are aggregated by the real
  handler (their state is returned), and the poisoned record and every record after it
  are reported in ``batchItemFailures``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Collection, Mapping
from typing import Any

from lambdas.aggregator import handler as aggregator
from lambdas.aggregator.envelope import WindowInvocation
from lambdas.shared import telemetry
from lambdas.shared.kpl import split_user_records

POISON_DEVICES_VARIABLE = "POISON_DEVICE_IDS"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class PoisonedRecord(RuntimeError):
    """Processing raised at a record of a poisoned device (the drill's bug)."""


def device_ids(record: Mapping[str, Any]) -> set[str]:
    """Device ids of the valid telemetry a Kinesis event record carries."""
    devices = set()
    for user_record in split_user_records(base64.b64decode(record["kinesis"]["data"])):
        try:
            devices.add(telemetry.decode(user_record.data).device_id)
        except Exception:  # invalid: the aggregator quarantines it, so it is no poison
            continue
    return devices


def first_poisoned(records: list[dict[str, Any]], poison: Collection[str]) -> int | None:
    for index, record in enumerate(records):
        if device_ids(record) & set(poison):
            return index
    return None


def poisoned(handler: Handler, poison: Collection[str]) -> Handler:
    """``handler``, failing at the first record of a device in ``poison``."""

    def wrapped(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records") or []
        index = first_poisoned(records, poison)
        if index is None:
            return handler(event, context)
        sequence_number = records[index]["kinesis"]["sequenceNumber"]
        if index == 0 or WindowInvocation.from_event(event).closes_window:
            raise PoisonedRecord(f"record {sequence_number} of a poisoned device")
        response = handler({**event, "Records": records[:index]}, context)
        reported = [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
        reported += [record["kinesis"]["sequenceNumber"] for record in records[index:]]
        return {"state": response["state"],
                "batchItemFailures": [{"itemIdentifier": s} for s in reported]}

    return wrapped


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The deployed wrapper: the devices come from the function's environment."""
    raw = os.environ.get(POISON_DEVICES_VARIABLE, "")
    poison = {device.strip() for device in raw.split(",") if device.strip()}
    return poisoned(aggregator.lambda_handler, poison)(event, context)
