"""Data access of the archive worker: lists an (hour, shard) folder's object ranges and
puts objects into S3.

The client is created on first use and reused by later invocations of the execution
environment; no endpoint is configured here (boto3 reads ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import functools
from typing import Any

import boto3

from lambdas.archive.config import get_config
from lambdas.archive.layout import ArchiveObject, Range, range_of

CONTENT_TYPE = "application/x-ndjson"


class ArchiveRepository:
    """One bucket, and the KMS key its objects are encrypted with (None: bucket default)."""

    def __init__(self, bucket: str, *, kms_key_arn: str | None = None,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.kms_key_arn = kms_key_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def ranges(self, folder: str) -> list[Range]:
        """The record ranges of the objects in one (hour, shard) folder (ListObjectsV2)."""
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=folder):
            found.extend(r for r in (range_of(o["Key"]) for o in page.get("Contents", ()))
                         if r is not None)
        return found

    def put(self, obj: ArchiveObject) -> None:
        """Write (or overwrite, with the same bytes) one object. No Content-Encoding: the
        object *is* a .gz file, which Athena and ``shardline archive cat`` read as such."""
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": obj.key, "Body": obj.body,
                                   "ContentType": CONTENT_TYPE}
        if self.kms_key_arn:
            request.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key_arn)
        self.client.put_object(**request)


@functools.cache
def default_repository() -> ArchiveRepository:
    config = get_config()
    return ArchiveRepository(config.bucket, kms_key_arn=config.kms_key_arn)


__all__ = ["ArchiveRepository", "default_repository"]
