"""Scheduled rollup Lambda: pending hours → 5-minute and hourly roll-ups per device, per
site and for the fleet, in the aggregates table.

Trigger: an EventBridge rule ``rate(5 minutes)`` (asynchronous invocation). Handler string:
``lambdas.scheduled_rollup.handler.lambda_handler``.

A scheduled run reads the pending-hour markers the stream rollup writes after each batch
of minute totals (consistent reads of every marker shard ``RU#PENDING#<n>``, and of the
legacy unsharded ``RU#PENDING``), groups them by hour, and for each hour, oldest first,
once however many shards mark it: reads every total of the hour from the ``by_hour``
index, computes its roll-ups (logic.hour_rollups) and writes them whole (deterministic
keys: recomputing rewrites the same items). Then it deletes each of the hour's markers
*only if its token is still the one read*: a marker re-written meanwhile (the hour got
more data, in that shard) stays and the next run recomputes the hour. Markers younger
than SETTLE_SECONDS are not deleted (config.py says why); their hour is still rolled up.

``{"hours": ["2026-11-23T10", ...]}`` recomputes the named hours instead (a backfill); it
reads and deletes no markers.

Runs never overlap, whatever Lambda's concurrency: each run (scheduled or backfill) first
takes the run lease in the aggregates table (repository.take_lease, a conditional put)
for its remaining time plus LEASE_MARGIN_S, and releases it at the end. Otherwise a slow
run could write an hour's roll-ups from older totals after a faster run wrote newer ones,
and, the marker being gone, nothing would correct them. A scheduled run that finds the
lease held does nothing (the hours stay marked for the next run); a backfill fails with
RunInProgress, to be retried.

An hour that fails is logged and its markers left; the others are still processed, then the
invocation fails so the error shows in the function's metrics. The next scheduled run
recomputes the hour (Terraform turns Lambda's own async retries off; recomputing is
idempotent either way).
Returns a summary: hours processed, hours deferred (a young marker kept), hours re-marked
meanwhile (a marker's token changed), hours left for the next run, items written.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.scheduled_rollup.config import ScheduledRollupConfig, get_config
from lambdas.scheduled_rollup.logic import (
    PendingMarker,
    hour_rollups,
    minutes_expiring,
    pending_hours,
    plan_run,
    requested_hours,
)
from lambdas.scheduled_rollup.repository import ScheduledRollupRepository, default_repository

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# How long the lease outlives the invocation's remaining time: covers clock differences
# between execution environments and a write still in flight when Lambda ends the run.
LEASE_MARGIN_S = 60


class HoursNotRolledUp(RuntimeError):
    """Some hours could not be recomputed; their markers stay for the next run."""


class RunInProgress(RuntimeError):
    """A backfill found another run holding the lease; retry it once that run is over."""


@dataclass
class RunWork:
    """The hours one run recomputes, each once, with the markers to delete after it."""

    hours: list[tuple[str, tuple[PendingMarker, ...]]]
    deferred: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    backfill: bool = False


def plan(event: dict[str, Any] | None, repository: ScheduledRollupRepository,
         config: ScheduledRollupConfig, *, now: float) -> RunWork:
    """The requested hours of a backfill, or the pending hours (from every marker shard),
    oldest first."""
    explicit = requested_hours(event, max_hours=config.max_hours_per_run)
    if explicit is not None:
        return RunWork([(hour, ()) for hour in explicit], backfill=True)
    run = plan_run(pending_hours(repository.pending_markers()), now=now,
                   settle_seconds=config.settle_seconds, max_hours=config.max_hours_per_run)
    return RunWork([(hour.hour, hour.settled) for hour in run.hours],
                   deferred=[hour.hour for hour in run.hours if hour.young],
                   left=[hour.hour for hour in run.left])


def run_leased(event: dict[str, Any] | None, repository: ScheduledRollupRepository,
               config: ScheduledRollupConfig, *, now: float, lease_s: int) -> dict[str, Any]:
    """``run_rollup`` under the run lease, so that no two runs recompute at once."""
    holder = uuid.uuid4().hex
    if not repository.take_lease(holder, now=int(now), duration_s=lease_s):
        if requested_hours(event, max_hours=config.max_hours_per_run) is not None:
            raise RunInProgress("another scheduled-rollup run holds the lease; "
                                "retry the backfill once it has finished")
        metrics.add_metric(name="RunsSkipped", unit=MetricUnit.Count, value=1)
        logger.info("another run holds the lease; this run does nothing")
        return {"skipped": "another run holds the lease", "hours_processed": [],
                "items_written": 0}
    try:
        return run_rollup(event, repository, config, now=now)
    finally:
        repository.release_lease(holder)


def run_rollup(event: dict[str, Any] | None, repository: ScheduledRollupRepository,
               config: ScheduledRollupConfig, *, now: float) -> dict[str, Any]:
    """One run: recompute the pending (or requested) hours; return the summary."""
    run = plan(event, repository, config, now=now)
    processed: list[str] = []
    remarked: list[str] = []
    expired: list[str] = []
    failed: dict[str, str] = {}
    written = 0
    for hour, markers in run.hours:
        try:
            if minutes_expiring(hour, config.minute_retention_days, now=now):
                expired.append(hour)  # its roll-ups stay; its markers go
            else:
                items = hour_rollups(repository.hour_totals(hour))
                written += repository.write_rollups(items).items
            processed.append(hour)
            kept = [m for m in markers
                    if not repository.delete_marker(m.partition, hour, m.token)]
            if kept:
                remarked.append(hour)
        except Exception as exc:
            logger.exception("rolling up an hour failed; its markers stay",
                             extra={"hour": hour})
            failed[hour] = str(exc)

    summary = {
        "hours_processed": processed,
        "hours_deferred": run.deferred,
        "hours_remarked": remarked,
        "hours_expired": expired,
        "hours_failed": sorted(failed),
        "hours_left": len(run.left),
        "items_written": written,
        "backfill": run.backfill,
    }
    metrics.add_metric(name="HoursRolledUp", unit=MetricUnit.Count, value=len(processed))
    metrics.add_metric(name="HoursDeferred", unit=MetricUnit.Count, value=len(run.deferred))
    metrics.add_metric(name="HoursFailed", unit=MetricUnit.Count, value=len(failed))
    metrics.add_metric(name="HoursLeft", unit=MetricUnit.Count, value=len(run.left))
    metrics.add_metric(name="RollupsWritten", unit=MetricUnit.Count, value=written)
    logger.info("scheduled rollup run", extra=summary)
    if failed:
        raise HoursNotRolledUp(f"{len(failed)} hours were not rolled up: "
                               + "; ".join(f"{h}: {e}" for h, e in sorted(failed.items())))
    return summary


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = get_config()  # fail fast, with a clear message, on a misconfigured function
    lease_s = math.ceil(context.get_remaining_time_in_millis() / 1000) + LEASE_MARGIN_S
    return run_leased(event, default_repository(), config, now=time.time(), lease_s=lease_s)
