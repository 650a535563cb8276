"""EventBridge event factories: what a scheduled rule sends its Lambda target, and the
backfill request the scheduled rollup accepts instead."""

from __future__ import annotations

import time
import uuid
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/shardline-scheduled-rollup"


def scheduled_event(when_s: float | None = None, *, rule_arn: str = RULE_ARN) -> dict[str, Any]:
    """The "Scheduled Event" EventBridge sends when a rule fires at ``when_s``."""
    when = time.time() if when_s is None else when_s
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


def backfill_event(*hours: str) -> dict[str, Any]:
    """An explicit request to recompute ``hours`` (``YYYY-MM-DDTHH``)."""
    return {"hours": list(hours)}


__all__ = ["RULE_ARN", "backfill_event", "scheduled_event"]
