"""What a poller does when its function's execution role may not read its source.

Lambda's pollers read streams and queues (and send to on-failure destinations) with the
function's execution role. When the role lacks a permission (or the source's KMS key),
the mapping makes no progress: records stay in the stream or queue, the poller retries,
and the mapping reports the problem (``LastProcessingResult`` "PROBLEM: …"). The local
engine does the same: the consumer keeps its position, polls again after a back-off, says
why once per distinct reason in the log, and shows it in ``shardline local status``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger("shardline.engine")

# Error codes of an IAM or KMS denial, across the services pollers read.
DENIAL_CODES = frozenset({
    "AccessDeniedException", "AccessDenied", "AuthorizationError",
    "KMSAccessDeniedException", "KMS.AccessDeniedException", "KmsAccessDenied",
    "KMSAccessDenied",
})
DENIED_RETRY_S = 5.0


def denial_reason(exc: BaseException) -> str | None:
    """The service's message when ``exc`` is an IAM or KMS denial, else None."""
    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error", {})
    if error.get("Code") not in DENIAL_CODES:
        return None
    return f"{error.get('Code')}: {error.get('Message', '')}"


@dataclass
class AccessProblem:
    """The last denial a consumer met (None once it reads again)."""

    reason: str | None = None

    def denied(self, where: str, reason: str) -> None:
        if reason != self.reason:
            log.error("PROBLEM: %s: the function's execution role was denied; the mapping "
                      "makes no progress until the permission is granted. %s", where, reason)
        self.reason = reason

    def cleared(self, where: str) -> None:
        if self.reason is not None:
            log.info("%s: access restored, the mapping resumes", where)
        self.reason = None

    @property
    def last_processing_result(self) -> str:
        return f"PROBLEM: {self.reason}" if self.reason else "OK"


def mark_mapping(uuid: str, account: str, region: str, problem: AccessProblem) -> None:
    """Record the problem on the mapping as AWS does (``LastProcessingResult``)."""
    try:
        from moto.awslambda.models import lambda_backends

        esm: Any = lambda_backends[account][region]._event_source_mappings.get(uuid)
    except (KeyError, AttributeError):
        return
    if esm is not None:
        esm.last_processing_result = problem.last_processing_result


__all__ = ["DENIAL_CODES", "DENIED_RETRY_S", "AccessProblem", "denial_reason", "mark_mapping"]
