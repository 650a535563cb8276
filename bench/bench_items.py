"""DynamoDB items on disk vs in memory in the embedded AWS, side by side in one run.

The embedded AWS keeps items' packed attributes in sqlite (``embedded_item_store``), new
rows written in batches and the rows used last cached in memory. This runs the
aggregates pattern (UpdateItem ``ADD``/``SET`` of minute cells by as many writer threads
as a stack's consumers, each cell updated more than once, a conditional update that
fails, Queries of each series and of the ``by_hour`` index, a Scan) on one embedded AWS,
in rounds that alternate the store:

* ``memory``: the same code with rows in a dict (what holding the bytes in memory costs);
* ``disk``: the process's store as a stack runs it (sqlite, ``WRITE_BATCH`` rows written
  at once, ``ITEM_CACHE_BYTES`` cache);
* ``disk_unbatched``: sqlite with neither (every new row an INSERT, every read of an item
  at rest a SELECT).

Each round uses a fresh table, deleted after. Throughput is requests per second of the
best round of each; the ratios are disk / memory. Last line: one JSON object.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is not installed

import boto3
from botocore.exceptions import ClientError

from lambdas.shared.aggregates import HOUR_INDEX_NAME
from shardline.local import embedded_item_store, embedded_spill
from shardline.local.embedded import LOCAL_REGION, EmbeddedAws
from shardline.local.embedded_item_store import ItemStore, StoredRow
from tests.factories.dynamodb import create_aggregates_table

DEVICES, MINUTES, UPDATES_PER_CELL, WRITERS, ROUNDS = 40, 10, 2, 16, 2


class MemoryItemStore(ItemStore):
    """The store's interface with every row in a dict: items packed in memory."""

    def __init__(self) -> None:  # no database: rows stay in ``_held``
        self.forgotten: deque[int] = deque()
        self._ids = itertools.count(1)
        self._row = type("StoredRow", (StoredRow,), {"__slots__": (), "store": self})
        self._held: dict[int, bytes] = {}

    def add(self, packed: bytes) -> Any:
        row = self._row(next(self._ids))
        self._delete_forgotten_rows()
        self._held[int(row)] = packed
        return row

    def read(self, row: int) -> bytes:
        return self._held[int(row)]

    def read_many(self, rows: Iterable[int]) -> dict[int, bytes]:
        return {int(row): self._held[int(row)] for row in rows}

    def holding(self, needles: list[bytes]) -> set[int]:
        return {row for row, packed in list(self._held.items())
                if all(needle in packed for needle in needles)}

    def flush(self) -> int:
        self._delete_forgotten_rows()
        return len(self._held)

    def _delete_forgotten_rows(self) -> None:
        while self.forgotten:
            self._held.pop(self.forgotten.popleft(), None)


def _cell_update(client: Any, table: str, device: int, minute: int) -> None:
    client.update_item(
        TableName=table,
        Key={"PK": {"S": f"DM#dev-{device:03d}#temperature_c"},
             "SK": {"S": f"T#2026-05-09T10:{minute:02d}"}},
        UpdateExpression="SET GSI1PK = :h, GSI1SK = :g, kind = :k, device_id = :d, "
                         "metric = :m, site = :s, expires_at = :e "
                         "ADD #count :one, #sum :v, sumsq :v2",
        ExpressionAttributeNames={"#count": "count", "#sum": "sum"},
        ExpressionAttributeValues={
            ":h": {"S": f"H#2026-05-09T10#{device % 4}"}, ":g": {"S": f"dev-{device:03d}"},
            ":k": {"S": "total"}, ":d": {"S": f"dev-{device:03d}"},
            ":m": {"S": "temperature_c"}, ":s": {"S": "plant-a"},
            ":e": {"N": "1893456000"}, ":one": {"N": "1"}, ":v": {"N": "21.25"},
            ":v2": {"N": "451.5625"}})


def _stale_update(client: Any, table: str, device: int) -> None:
    """A conditional write that fails, as a stale rollup retry does."""
    try:
        client.update_item(
            TableName=table, Key={"PK": {"S": f"DM#dev-{device:03d}#temperature_c"},
                                  "SK": {"S": "T#2026-05-09T10:00"}},
            UpdateExpression="SET #count = :c", ConditionExpression="#count < :c",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":c": {"N": "0"}})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def _workload(client: Any, table: str) -> int:
    """The aggregates pattern on ``table``; how many requests it made."""
    cells = [(device, minute) for minute in range(MINUTES) for device in range(DEVICES)]

    def write(part: int) -> None:
        for _ in range(UPDATES_PER_CELL):
            for device, minute in cells[part::WRITERS]:
                _cell_update(client, table, device, minute)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    for device in range(DEVICES):
        _stale_update(client, table, device)
        found = client.query(TableName=table, KeyConditionExpression="PK = :p",
                             ExpressionAttributeValues={
                                 ":p": {"S": f"DM#dev-{device:03d}#temperature_c"}})
        assert found["Count"] == MINUTES, found["Count"]
    for shard in range(4):
        client.query(TableName=table, IndexName=HOUR_INDEX_NAME,
                     KeyConditionExpression="GSI1PK = :h",
                     ExpressionAttributeValues={":h": {"S": f"H#2026-05-09T10#{shard}"}})
    assert len(client.scan(TableName=table)["Items"]) == len(cells)
    return len(cells) * UPDATES_PER_CELL + 2 * DEVICES + 4 + 1


def _round(client: Any, store: ItemStore) -> float:
    """Requests per second of one round of the workload with ``store``."""
    embedded_spill._stores[ItemStore] = store
    table = create_aggregates_table(client, f"bench-items-{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    requests = _workload(client, table)
    elapsed = time.perf_counter() - started
    client.delete_table(TableName=table)
    return requests / elapsed


def main() -> None:
    aws = EmbeddedAws(port=0)
    aws.start()
    try:
        client = boto3.client("dynamodb", endpoint_url=aws.endpoint_url,
                              region_name=LOCAL_REGION, aws_access_key_id="bench",
                              aws_secret_access_key="bench")
        disk = embedded_item_store.item_store()

        def cached(cache_bytes: int, write_batch: int) -> Callable[[], ItemStore]:
            def store() -> ItemStore:
                disk.flush()
                disk.cache_bytes, disk.write_batch = cache_bytes, write_batch
                return disk
            return store

        stores: dict[str, Callable[[], ItemStore]] = {
            "memory": MemoryItemStore,
            "disk": cached(embedded_item_store.ITEM_CACHE_BYTES, embedded_item_store.WRITE_BATCH),
            "disk_unbatched": cached(0, 1)}
        _round(client, disk)  # warm up: moto's parsers, the server's threads
        best = {name: 0.0 for name in stores}
        for _ in range(ROUNDS):
            for name, store in stores.items():
                best[name] = max(best[name], _round(client, store()))
                print(f"{name}: {best[name]:.0f} requests/s (best so far)", flush=True)
        embedded_spill._stores[ItemStore] = disk
    finally:
        aws.stop()
    print(json.dumps({
        "bench": "items_on_disk",
        "requests_per_round": DEVICES * MINUTES * UPDATES_PER_CELL + 2 * DEVICES + 5,
        "writers": WRITERS,
        **{f"{name}_requests_per_s": round(rate) for name, rate in best.items()},
        "disk_vs_memory": round(best["disk"] / best["memory"], 3),
        "disk_unbatched_vs_memory": round(best["disk_unbatched"] / best["memory"], 3),
        "item_cache_bytes": embedded_item_store.ITEM_CACHE_BYTES,
        "write_batch": embedded_item_store.WRITE_BATCH,
    }))


if __name__ == "__main__":
    main()
