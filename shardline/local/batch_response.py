"""How a stream mapping reads a handler's response (AWS-SEMANTICS.md, "Lambda event
source mappings for streams"): a function error; with a tumbling window, a response
without ``state`` fails the batch; with ReportBatchItemFailures, ``batchItemFailures``
names the failed records by sequence number — an empty list, null, or an empty or null
response mean success; an empty-string or null ``itemIdentifier``, a wrong key or an
identifier not in the batch fail the whole batch; otherwise the batch failed from the
lowest named record on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    function_error: bool = False
    first_failed: int = 0  # index of the lowest failed record when not ok


def has_state(payload: Any) -> bool:
    """The response carries a window ``state`` (a JSON object)."""
    return isinstance(payload, dict) and isinstance(payload.get("state"), dict)


def judge(ok: bool, payload: Any, sequence_numbers: list[str], *, tumbling: bool,
          report_batch_item_failures: bool) -> Verdict:
    """The verdict on one invocation of the records with ``sequence_numbers``."""
    if not ok:
        return Verdict(ok=False, function_error=True)
    if tumbling and not has_state(payload):
        return Verdict(ok=False)
    if not report_batch_item_failures or not isinstance(payload, dict):
        return Verdict(ok=True)
    failures = payload.get("batchItemFailures")
    if failures is None or failures == []:
        return Verdict(ok=True)
    if not isinstance(failures, list):
        return Verdict(ok=False)
    positions = {sequence_number: i for i, sequence_number in enumerate(sequence_numbers)}
    indices = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            return Verdict(ok=False)  # empty, null, wrong key or unknown: all failed
        indices.append(positions[identifier])
    return Verdict(ok=False, first_failed=min(indices))
