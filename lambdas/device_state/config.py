"""device-state worker configuration: one typed, frozen object read once from the environment.

* ``DEVICE_STATE_TABLE`` (required): the table of latest readings (state.py has the layout).
* ``WRITE_CONCURRENCY`` (default 4, 1 to 32): conditional UpdateItem calls in flight at once.

Whether a device is offline is decided when the state is read (``shardline devices``,
``OFFLINE_AFTER_SECONDS`` from the stack's outputs), not stored: see state.py.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.shared.settings import ConfigError, required, whole_number


@dataclass(frozen=True, slots=True)
class DeviceStateConfig:
    table: str
    write_concurrency: int = 4

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DeviceStateConfig:
        return cls(
            table=required(environ, "DEVICE_STATE_TABLE",
                           "name the DynamoDB table of latest device readings"),
            write_concurrency=whole_number(environ, "WRITE_CONCURRENCY", 4, low=1, high=32),
        )


@functools.cache
def get_config() -> DeviceStateConfig:
    return DeviceStateConfig.from_environ(os.environ)


__all__ = ["ConfigError", "DeviceStateConfig", "get_config"]
