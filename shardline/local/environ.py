"""Per-invocation process environment for in-process Lambda handlers.

Handlers read their configuration from ``os.environ`` (Powertools, botocore and the
handlers' own typed config all do). Several functions run in one interpreter and on
several threads, so the runtime cannot simply assign ``os.environ``: it installs, once,
a mapping that overlays a context-local set of variables on the real environment. Code
running inside ``function_environment(env)`` sees ``env`` on top of the process
environment; every other thread sees the process environment unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping

_overlay: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "shardline_function_environment", default=None
)
_install_lock = threading.Lock()


class _OverlayEnviron(MutableMapping[str, str]):
    """``os.environ`` stand-in: context-local variables over the real environment."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self._base = base

    def __getitem__(self, key: str) -> str:
        overlay = _overlay.get()
        if overlay is not None and key in overlay:
            return overlay[key]
        return self._base[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._base[key] = value

    def __delitem__(self, key: str) -> None:
        del self._base[key]

    def __iter__(self) -> Iterator[str]:
        overlay = _overlay.get()
        if overlay is None:
            yield from self._base
            return
        yield from overlay
        yield from (key for key in self._base if key not in overlay)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)

    # os.environ API that some libraries use directly.
    def __getattr__(self, name: str):  # pragma: no cover - delegation only
        return getattr(self._base, name)


def install() -> None:
    """Replace ``os.environ`` with the overlay mapping (idempotent)."""
    with _install_lock:
        if not isinstance(os.environ, _OverlayEnviron):
            os.environ = _OverlayEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003


@contextlib.contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Run the block with ``variables`` visible through ``os.environ`` in this context."""
    install()
    merged = dict(_overlay.get() or {})
    merged.update(variables)
    token = _overlay.set(merged)
    try:
        yield
    finally:
        _overlay.reset(token)
