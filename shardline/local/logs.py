"""Function output to per-function log files, the local stand-in for CloudWatch Logs.

Handlers write structured JSON logs to stdout (Powertools Logger). With several
functions in one interpreter, stdout is routed by context: inside
``function_output(stream)`` writes go to that function's log file; elsewhere they reach
the real stdout. The router is installed once, before handler modules are imported, so
loggers created at import time hold the router rather than the terminal.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

_target: contextvars.ContextVar[TextIO | None] = contextvars.ContextVar(
    "shardline_function_output", default=None
)
_install_lock = threading.Lock()


class _RoutedStream(io.TextIOBase):
    def __init__(self, base: TextIO) -> None:
        self._base = base

    def write(self, text: str) -> int:
        target = _target.get()
        (target if target is not None else self._base).write(text)
        return len(text)

    def flush(self) -> None:
        target = _target.get()
        (target if target is not None else self._base).flush()

    def isatty(self) -> bool:
        return _target.get() is None and self._base.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._base, "encoding", "utf-8")


def install() -> None:
    """Route ``sys.stdout`` by context (idempotent)."""
    with _install_lock:
        if not isinstance(sys.stdout, _RoutedStream):
            sys.stdout = _RoutedStream(sys.stdout)  # type: ignore[assignment]


@contextlib.contextmanager
def function_output(stream: TextIO | None) -> Iterator[None]:
    if stream is None:
        yield
        return
    install()
    token = _target.set(stream)
    try:
        yield
    finally:
        _target.reset(token)
