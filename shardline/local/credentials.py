"""Temporary credentials of an IAM role, from the embedded STS, as the Lambda service gets them.

Lambda runs a function's code, and reads its event sources (the pollers of Kinesis,
DynamoDB Streams and SQS mappings) and writes its destinations, with credentials of the
function's execution role obtained by AssumeRole. The local runtime does the same against
the embedded STS, so that the embedded AWS can authorize every call by the role's policies.

``RoleSessions`` keeps one session per role and renews it well before it expires; the
credentials it hands out are plain strings (an environment's ``AWS_ACCESS_KEY_ID`` …)
or a boto3 client built from them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

# STS's default session length; renewed when less than RENEW_BEFORE_S is left.
SESSION_DURATION_S = 3600
RENEW_BEFORE_S = 900
SESSION_NAME = "shardline-local"


@dataclass(frozen=True)
class RoleCredentials:
    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float  # epoch seconds

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets in a function's environment for its role."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


@dataclass
class RoleSessions:
    """AssumeRole once per role (renewed before expiry); thread-safe.

    ``sts`` is a client with the runtime's own (administrator) credentials: the caller
    that stands in for the Lambda service principal.
    """

    sts: Any
    endpoint_url: str
    region: str
    clock: Callable[[], float] = time.time
    _sessions: dict[str, RoleCredentials] = field(default_factory=dict)
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def credentials(self, role_arn: str) -> RoleCredentials:
        with self._lock:
            current = self._sessions.get(role_arn)
            if current is not None and current.expires_at - self.clock() > RENEW_BEFORE_S:
                return current
            response = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME,
                                            DurationSeconds=SESSION_DURATION_S)
            issued = response["Credentials"]
            current = RoleCredentials(
                role_arn=role_arn,
                access_key_id=issued["AccessKeyId"],
                secret_access_key=issued["SecretAccessKey"],
                session_token=issued["SessionToken"],
                expires_at=self.clock() + SESSION_DURATION_S,
            )
            self._sessions[role_arn] = current
            return current

    def client(self, role_arn: str, service: str) -> Any:
        """A boto3 client acting as ``role_arn`` (cached per role session and service)."""
        creds = self.credentials(role_arn)
        key = (role_arn, service, creds.access_key_id)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = boto3.client(
                    service, endpoint_url=self.endpoint_url, region_name=self.region,
                    aws_access_key_id=creds.access_key_id,
                    aws_secret_access_key=creds.secret_access_key,
                    aws_session_token=creds.session_token,
                    config=Config(retries={"max_attempts": 3, "mode": "standard"}),
                )
                self._clients = {k: v for k, v in self._clients.items()
                                 if k[:2] != (role_arn, service)}
                self._clients[key] = client
            return client
