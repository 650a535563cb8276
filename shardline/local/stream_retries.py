"""What a stream batch that failed does next: split in halves (BisectBatchOnFunctionError),
wait and retry within MaximumRetryAttempts, or start its count afresh after progress.

Retries wait ``RETRY_BACKOFF_S``: 0.5 s after the first failure, doubling up to 8 s.
"""

from __future__ import annotations

from shardline.local.stream_lanes import Attempt, Lane

RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
UNLIMITED = -1  # as MaximumRetryAttempts -1: no limit


def backoff(attempts: int) -> float:
    return RETRY_BACKOFF_S[min(attempts, len(RETRY_BACKOFF_S)) - 1]


def split_in_halves(lane: Lane, attempt: Attempt) -> None:
    """Replace the lane's first batch by its two halves. Splitting does not consume the
    retry quota."""
    half = len(attempt.records) // 2
    lane.pending.popleft()
    lane.pending.appendleft(Attempt(attempt.records[half:], attempt.attempts))
    lane.pending.appendleft(Attempt(attempt.records[:half], attempt.attempts))


def retry_later(attempt: Attempt, now: float, maximum_retry_attempts: int = UNLIMITED) -> bool:
    """Count a failed attempt and schedule the next after the backoff; False (nothing
    scheduled) when that exceeds ``maximum_retry_attempts``."""
    attempt.attempts += 1
    if maximum_retry_attempts != UNLIMITED and attempt.attempts > maximum_retry_attempts:
        return False
    attempt.not_before = now + backoff(attempt.attempts)
    return True


def start_afresh(attempt: Attempt, now: float) -> None:
    """A partial batch response that checkpointed records made progress: the rest of
    the batch starts its retry count (and its approximateInvokeCount) afresh, as
    recorded on AWS. With MaximumRetryAttempts N a record every invocation reports
    failed is delivered N + 2 times: in the batch that partly succeeded, then 1 + N."""
    attempt.attempts = 0
    attempt.invocations = 0
    attempt.not_before = now + RETRY_BACKOFF_S[0]
