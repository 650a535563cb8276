"""Data access of the device-state worker: conditional UpdateItem per item (state.py).

``ConditionalCheckFailedException`` means the stored reading is as new or newer: the write
is skipped, not failed. Any other error propagates, so the invocation fails and Lambda's
async retries (then the worker's on-failure queue) take over; the writes already applied
are harmless to repeat.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import ClientError

from lambdas.device_state.config import get_config
from lambdas.device_state.state import NEWER_THAN_STORED, ConditionalWrite
from lambdas.shared.dynamo import TableAccess, serialize_item


@dataclass(frozen=True, slots=True)
class WriteReport:
    applied: int = 0
    skipped_older: int = 0


class DeviceStateRepository(TableAccess):
    def apply(self, write: ConditionalWrite) -> bool:
        """True when applied, False when the stored reading is as new or newer."""
        names = {f"#{k}": k for k in write.attributes}
        values = {f":{k}": v for k, v in write.attributes.items()}
        values.update({":ts": write.ts_ms, ":seq": write.seq})
        assignments = [f"#{k} = :{k}" for k in write.attributes] + ["ts_ms = :ts", "seq = :seq"]
        try:
            self.client.update_item(
                TableName=self.table_name, Key=serialize_item(write.key),
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression=NEWER_THAN_STORED,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize_item(values))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def apply_all(self, writes: Sequence[ConditionalWrite], concurrency: int) -> WriteReport:
        if concurrency <= 1 or len(writes) <= 1:
            results = [self.apply(w) for w in writes]
        else:
            with ThreadPoolExecutor(concurrency, thread_name_prefix="device-state") as pool:
                results = list(pool.map(self.apply, writes))
        applied = sum(results)
        return WriteReport(applied, len(results) - applied)


@functools.cache
def default_repository() -> DeviceStateRepository:
    config = get_config()
    return DeviceStateRepository(config.table, max_workers=config.write_concurrency)


__all__ = ["DeviceStateRepository", "WriteReport", "default_repository"]
