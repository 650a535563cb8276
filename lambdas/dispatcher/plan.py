"""What the dispatcher does with one invocation's Kinesis records (pure, no AWS).

Each Kinesis record is split into its user records (KPL aggregates included); each user
record is validated against the telemetry contract. An invalid one is quarantined, as the
aggregator does, under the same key, and never fails its Kinesis record. A valid one goes
to every worker whose route matches; one too large for any payload is quarantined too
(reason ``size: ...``) rather than blocking the shard. ``HandOffPlan`` collects, per
worker, the entries to send and, per Kinesis record, what happened.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field

from lambdas.dispatcher.packing import Entry, fits
from lambdas.dispatcher.routing import Route, workers_for
from lambdas.shared import telemetry
from lambdas.shared.kpl import split_user_records
from lambdas.shared.quarantine import Quarantined


@dataclass(slots=True)
class HandOffPlan:
    routes: Sequence[Route]
    envelope_bytes: int
    max_payload_bytes: int
    entries: dict[str, list[Entry]] = field(default_factory=dict)
    quarantined: list[tuple[Quarantined, float | None]] = field(default_factory=list)
    # Kinesis sequence number -> user records routed to at least one worker
    routed: dict[str, int] = field(default_factory=dict)
    user_records: int = 0
    unrouted: int = 0
    unknown_fields: int = 0

    def add(self, sequence_number: str, data_b64: str, partition_key: str,
            arrival_s: float | None) -> None:
        """Read one Kinesis record of the event and route its user records."""
        try:
            data = base64.b64decode(data_b64, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raw = data_b64.encode("utf-8", "replace") if isinstance(data_b64, str) else b""
            self._quarantine(Quarantined("envelope: kinesis.data is not base64",
                                         sequence_number, None, partition_key, raw), arrival_s)
            return
        for user in split_user_records(data):
            self.user_records += 1
            key = user.partition_key or partition_key
            try:
                record, unknown = telemetry.decode_with_unknown(user.data)
            except telemetry.InvalidTelemetry as exc:
                self._quarantine(Quarantined(exc.reason, sequence_number,
                                             user.sub_sequence_number, key, user.data),
                                 arrival_s)
                continue
            self.unknown_fields += unknown
            workers = workers_for(self.routes, record.device_id, record.site,
                                  record.metrics.keys())
            if not workers:
                self.unrouted += 1
                continue
            encoded = data_b64 if user.sub_sequence_number is None else \
                base64.b64encode(user.data).decode("ascii")
            entry = Entry.of(sequence_number, user.sub_sequence_number, key, arrival_s, encoded)
            if not fits(entry, self.envelope_bytes, self.max_payload_bytes):
                self._quarantine(Quarantined(
                    f"size: {len(user.data)} bytes do not fit a {self.max_payload_bytes}-byte "
                    "hand-off payload", sequence_number, user.sub_sequence_number, key,
                    user.data), arrival_s)
                continue
            for worker in workers:
                self.entries.setdefault(worker, []).append(entry)
            self.routed[sequence_number] = self.routed.get(sequence_number, 0) + 1

    def _quarantine(self, record: Quarantined, arrival_s: float | None) -> None:
        self.quarantined.append((record, arrival_s))


__all__ = ["HandOffPlan"]
