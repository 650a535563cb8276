"""Archive worker configuration: one typed, frozen object read once from the environment.

Environment variables:

* ``ARCHIVE_BUCKET`` (required): S3 bucket receiving the gzipped JSON Lines objects.
* ``ARCHIVE_PREFIX`` (optional, default empty): key prefix before ``dt=…/``; when set it
  must end with ``/``.
* ``ARCHIVE_KMS_KEY_ARN`` (optional): objects are written with ``aws:kms`` server-side
  encryption under this key; unset, the bucket's default encryption applies.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.shared.settings import ConfigError, optional, required


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    bucket: str
    prefix: str = ""
    kms_key_arn: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ArchiveConfig:
        bucket = required(environ, "ARCHIVE_BUCKET", "name the S3 bucket of the raw archive")
        prefix = optional(environ, "ARCHIVE_PREFIX") or ""
        if prefix and (not prefix.endswith("/") or prefix.startswith("/")):
            raise ConfigError(f"ARCHIVE_PREFIX={prefix!r} must end with '/' and not start "
                              "with one")
        return cls(bucket=bucket, prefix=prefix,
                   kms_key_arn=optional(environ, "ARCHIVE_KMS_KEY_ARN"))


@functools.cache
def get_config() -> ArchiveConfig:
    """The configuration of this process, read from ``os.environ`` on first use."""
    return ArchiveConfig.from_environ(os.environ)


__all__ = ["ArchiveConfig", "ConfigError", "get_config"]
