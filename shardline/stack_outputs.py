"""The local stack's Terraform outputs: where every command's default resource name
comes from.

``shardline local up`` writes ``terraform output`` (values only) to ``outputs.json`` in the
stack's state folder. A command reads it once (``StackOutputs.load``) and asks it for the
name of the resource it works on. The rule, the same for every command:

1. a name given on the command line wins;
2. else the stack's output (``quarantine_table_name``, ``alerts_queue_url``, ...);
3. else the name Terraform gives that resource with the default prefix (``shardline``),
   for resources that have one; resources whose names are not predictable (an archive
   bucket, an alerts subscription queue) have no fallback, and their absence is a
   one-line error naming the flag to pass.

No outputs file (no local stack has run here, or the command targets real AWS) means
the fallbacks apply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shardline.errors import ShardlineError

OUTPUTS_FILE = "outputs.json"


def default_outputs_path() -> Path | None:
    """``outputs.json`` of the local stack's state folder (None outside a checkout)."""
    from shardline.local.stack import project_root, state_dir

    try:
        return state_dir(project_root()) / OUTPUTS_FILE
    except ShardlineError:
        return None


@dataclass(frozen=True)
class StackOutputs:
    """The outputs of one ``terraform apply`` (empty when there is none here)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None  # the file read; None when there was none

    @classmethod
    def load(cls, path: Path | None = None) -> StackOutputs:
        """Read ``path`` (default: the local stack's); empty outputs when it is missing.
        A file that is there but unreadable is an error, not a silent fallback."""
        path = path or default_outputs_path()
        if path is None or not path.is_file():
            return cls()
        try:
            values = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ShardlineError(f"cannot read the stack outputs {path}: {exc}") from None
        if not isinstance(values, dict):
            raise ShardlineError(f"the stack outputs {path} are not a JSON object")
        return cls(values, path)

    def get(self, key: str) -> Any:
        """An output's value, or None when it is absent or null (a module not deployed)."""
        value = self.values.get(key)
        return None if value in (None, "") else value

    def name(self, key: str, *, flag: str, fallback: str | None = None) -> str:
        """The resource name from output ``key``, else ``fallback``; else a one-line error
        telling the user which flag to pass."""
        value = self.get(key)
        if value is not None:
            return str(value)
        if fallback is not None:
            return fallback
        where = (f"the stack outputs ({self.source}) have no {key}" if self.source
                 else f"no local stack outputs (to read {key} from)")
        raise ShardlineError(f"{where}: pass {flag}, or deploy the stack (`shardline local up`)")

    def mapping(self, key: str) -> Mapping[str, Any]:
        """An output that is a map (e.g. ``worker_failure_queues``); empty when absent."""
        value = self.get(key)
        return value if isinstance(value, Mapping) else {}


def resolve(given: str | None, key: str, *, flag: str, fallback: str | None = None,
            outputs: StackOutputs | None = None) -> str:
    """``given`` when the user passed it, else the stack's output ``key`` (read now),
    else ``fallback``, else a one-line error naming ``flag``."""
    if given:
        return given
    return (outputs or StackOutputs.load()).name(key, flag=flag, fallback=fallback)


def queue_name_of(queue_url: str) -> str:
    """The queue name of an SQS queue URL (its last path segment)."""
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


__all__ = ["StackOutputs", "default_outputs_path", "queue_name_of", "resolve"]
