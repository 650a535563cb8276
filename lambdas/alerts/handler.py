"""Alerts worker: threshold rules per device in event-time order → SNS, once per episode.

Invoked asynchronously by the fanout dispatcher (``lambdas.shared.worker_payload``).
Handler string: ``lambdas.alerts.handler.lambda_handler``.

Each record's metrics are matched against the rules of ``ALERT_RULES``; the readings of
each (device, rule) are evaluated against the state kept in ``ALERT_STATE_TABLE``
(``episodes.py`` for the semantics, ``state.py`` for the items, ``outbox.py`` for how a
message is published once). Records that do not decode are logged and skipped. When a
(device, rule) fails (SNS refused a message, or too many conflicting writes) the others
still complete, and then the invocation fails so Lambda retries the payload: the retry
is idempotent (its readings are already in the state) and publishes what is still due.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.alerts import repository
from lambdas.alerts.config import AlertsConfig, Rule, get_config
from lambdas.alerts.episodes import Point
from lambdas.alerts.process import RuleOutcome, Services, process_rule
from lambdas.shared.worker_payload import DecodedRecord, WorkerPayload

logger = Logger()
metrics = Metrics()
tracer = Tracer()


class AlertsIncomplete(RuntimeError):
    """Some (device, rule) pairs could not complete; Lambda retries the payload."""


def points_by_rule(decoded: list[DecodedRecord],
                   rules: tuple[Rule, ...]) -> dict[tuple[str, Rule], list[Point]]:
    """The readings each (device, rule) must evaluate, from the records' metrics."""
    grouped: dict[tuple[str, Rule], list[Point]] = defaultdict(list)
    for item in decoded:
        record = item.telemetry
        for rule in rules:
            value = record.metrics.get(rule.metric)
            if value is not None:
                grouped[(record.device_id, rule)].append(
                    Point(record.ts, record.boot, record.seq, value, record.site))
    return grouped


def run_rules(services: Services, grouped: dict[tuple[str, Rule], list[Point]]) -> dict[str, int]:
    """Read every (device, rule) pair's state at once (one BatchGetItem per 100, not a
    GetItem each), then process the pairs ``ALERT_MAX_WORKERS`` at a time (they are
    independent items); raise ``AlertsIncomplete`` after all ran if any failed."""
    totals = {"decided": 0, "published": 0, "duplicates": 0, "beyond_horizon": 0,
              "conflicts": 0, "claims_lost": 0, "failed": 0}
    first_error: Exception | None = None
    stored = services.repository.load_many(grouped)
    with ThreadPoolExecutor(max_workers=services.config.max_workers) as pool:
        futures = {pool.submit(process_rule, services, rule, device_id, points,
                               stored[(device_id, rule.name)]):
                   (device_id, rule) for (device_id, rule), points in grouped.items()}
    for future, (device_id, rule) in futures.items():
        try:
            outcome = future.result()
        except Exception as exc:  # the others still complete; the payload is retried
            logger.exception("alert evaluation failed", extra={
                "device_id": device_id, "rule": rule.name})
            totals["failed"] += 1
            first_error = first_error or exc
            continue
        _count(totals, outcome, device_id, rule)
    if first_error is not None:
        raise AlertsIncomplete(f"{totals['failed']} device/rule pairs failed; first: "
                               f"{first_error}") from first_error
    return totals


def _count(totals: dict[str, int], outcome: RuleOutcome, device_id: str, rule: Rule) -> None:
    totals["decided"] += len(outcome.decided)
    totals["published"] += len(outcome.published)
    for name in ("duplicates", "beyond_horizon", "conflicts", "claims_lost"):
        totals[name] += getattr(outcome, name)
    if outcome.beyond_horizon:
        logger.warning("readings older than the rule's window ignored (already decided)",
                       extra={"device_id": device_id, "rule": rule.name,
                              "readings": outcome.beyond_horizon})
    for message_id in outcome.published:
        logger.info("alert published", extra={"device_id": device_id, "rule": rule.name,
                                              "message_id": message_id})


def services_for(config: AlertsConfig) -> Services:
    state, publisher = repository.default_repository(), repository.default_publisher()
    # Create both clients here: the threads then share them (creating one is not
    # thread-safe; using one is).
    _ = state.client, publisher.client
    return Services(repository=state, publisher=publisher, config=config,
                    token=uuid.uuid4().hex, now_s=time.time())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = get_config()  # fail fast, with a clear message, on a misconfigured function
    payload = WorkerPayload.from_event(event)
    logger.append_keys(shard_id=payload.shard_id)
    decoded, skipped = payload.decoded_logging_rejects(logger)
    totals = run_rules(services_for(config), points_by_rule(decoded, config.rules))
    metrics.add_metric(name="AlertsPublished", unit=MetricUnit.Count,
                       value=totals["published"])
    metrics.add_metric(name="ReadingsBeyondHorizon", unit=MetricUnit.Count,
                       value=totals["beyond_horizon"])
    metrics.add_metric(name="RecordsSkipped", unit=MetricUnit.Count, value=skipped)
    summary = {"records": len(payload.records), "skipped": skipped, **totals}
    logger.info("payload evaluated", extra=summary)
    return summary
