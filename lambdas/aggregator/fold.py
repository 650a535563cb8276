"""Folding one invocation's Kinesis records, in order, into the window state (no AWS, no I/O).

Stream semantics this module guarantees (AWS-SEMANTICS.md, DESIGN.md "Correctness model"):

* A Kinesis record is folded atomically: all its readings or none of them.
* The state only ever holds a *prefix* of the shard's records in the window. After the
  first failed record of an invocation every later record of that invocation is refused
  (``RecordSkipped``) and reported failed too, because Lambda re-delivers everything from
  the lowest failed sequence number; folding a later record now would count it twice.
* Because the state is a prefix, the last folded sequence number is a watermark: a record
  re-delivered at or below it is already in the state and is skipped, not double counted.
* Invalid user records are quarantined (counted with a reason), never failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdas.aggregator.envelope import WindowInvocation
from lambdas.aggregator.records import RecordContribution, read_base64_record
from lambdas.aggregator.window_state import WindowAggregate


class RecordSkipped(RuntimeError):
    """A record after an earlier failed record of the same invocation; it will be re-delivered."""


@dataclass(slots=True)
class InvocationTally:
    """Per-invocation counts, for the summary log line and the metrics."""

    records: int = 0
    user_records: int = 0
    aggregated: int = 0
    quarantined: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0


class InvocationFold:
    """Folds one invocation's Kinesis records, in order, into a ``WindowAggregate``."""

    def __init__(self, aggregate: WindowAggregate) -> None:
        self.aggregate = aggregate
        self.tally = InvocationTally()
        self.first_failure: str | None = None

    def apply(
        self, sequence_number: str, data_b64: str, partition_key: str | None = None
    ) -> RecordContribution | None:
        """Fold one record; None when it was already in the state.

        Raises ``RecordSkipped`` after an earlier failure of this invocation, and re-raises
        whatever a real failure raised; either way the record is not in the state.
        """
        self.tally.records += 1
        if self.first_failure is not None:
            self.tally.skipped += 1
            raise RecordSkipped(
                f"record {sequence_number} follows failed record {self.first_failure}; "
                "it will be re-delivered"
            )
        if self.aggregate.is_committed(sequence_number):
            self.tally.duplicates += 1
            return None
        try:
            contribution = read_base64_record(sequence_number, data_b64, partition_key)
            self.aggregate.commit(contribution)
        except Exception:
            self.first_failure = sequence_number
            self.tally.failed += 1
            raise
        self.tally.user_records += contribution.aggregated + len(contribution.quarantined)
        self.tally.aggregated += contribution.aggregated
        self.tally.quarantined += len(contribution.quarantined)
        return contribution

    def flush_segment(self, invocation: WindowInvocation) -> str | None:
        """The SK segment for this flush, or None for a window flushed in one piece.

        A piece is followed by more of the same window when Lambda terminated the window
        early, or when records of this final invoke failed and will be re-delivered; it
        follows others when the window was sealed before (``WindowAggregate``). A
        replayed failed batch always has its own segment (``replay-<first sequence>``).
        """
        piece = self.aggregate.first_sequence
        if invocation.replay_segment:
            if self.aggregate.sealed:
                return f"{invocation.replay_segment}.{piece}"
            return invocation.replay_segment
        if invocation.terminated_early or self.first_failure is not None or \
                self.aggregate.sealed:
            return piece
        return None


__all__ = ["InvocationFold", "InvocationTally", "RecordSkipped"]
