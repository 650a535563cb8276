"""Asynchronous invocation settings per version and alias, as Lambda keeps them.

``PutFunctionEventInvokeConfig`` configures one qualifier of a function: the one in
``Qualifier`` or in the function's ARN (a version or an alias), else the unpublished
``$LATEST`` ("Configuring error handling for asynchronous invocation"; the API reference
of PutFunctionEventInvokeConfig). An invocation through an alias uses the alias's
settings, not those of the function's ``$LATEST``. moto ignores ``Qualifier``, appends
configurations (returning the first) and stores them on whatever object the name
resolves to, which a published version shares with ``$LATEST``. This keeps one
configuration per (function, qualifier), replaced by Put and merged by Update.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import unquote

from shardline.local.versions import LATEST, split_qualifier

_lock = threading.Lock()
_completed = False


def complete_moto_event_invoke_configs() -> None:
    """Patch moto's Lambda backend and responses once per process (idempotent)."""
    global _completed
    with _lock:
        if _completed:
            return
        from moto.awslambda import models, responses

        _patch_backend(models)
        _patch_responses(responses.LambdaResponse)
        _completed = True


def _patch_backend(models: Any) -> None:
    backend_cls = models.LambdaBackend

    def stored(self: Any) -> dict[tuple[str, str], Any]:
        if not hasattr(self, "_shardline_invoke_configs"):
            self._shardline_invoke_configs = {}
        return self._shardline_invoke_configs  # type: ignore[no-any-return]

    def key(self: Any, name: str) -> tuple[str, str]:
        function = self.get_function(name)  # raises as AWS does for an unknown one
        return split_qualifier(function.function_arn)[0], split_qualifier(name)[1] or LATEST

    def put(self: Any, name: str, config: dict[str, Any]) -> dict[str, Any]:
        function, qualifier = key(self, name)
        arn = function if qualifier == LATEST else f"{function}:{qualifier}"
        entry = models.EventInvokeConfig(arn, self.get_function(name).last_modified, config)
        stored(self)[(function, qualifier)] = entry
        return entry.response()  # type: ignore[no-any-return]

    def update(self: Any, name: str, config: dict[str, Any]) -> dict[str, Any]:
        current = stored(self).get(key(self, name))
        return put(self, name, {**(current.config if current else {}), **config})

    def get(self: Any, name: str) -> dict[str, Any]:
        entry = stored(self).get(key(self, name))
        if entry is None:
            raise models.UnknownEventConfig(self.get_function(name).function_arn)
        return entry.response()  # type: ignore[no-any-return]

    def delete(self: Any, name: str) -> None:
        get(self, name)
        stored(self).pop(key(self, name), None)

    def list_configs(self: Any, name: str) -> dict[str, Any]:
        function = key(self, name)[0]
        return {"FunctionEventInvokeConfigs": [
            entry.response() for (owner, _), entry in sorted(stored(self).items())
            if owner == function]}

    backend_cls.put_function_event_invoke_config = put
    backend_cls.update_function_event_invoke_config = update
    backend_cls.get_function_event_invoke_config = get
    backend_cls.delete_function_event_invoke_config = delete
    backend_cls.list_function_event_invoke_configs = list_configs


def _patch_responses(response_cls: Any) -> None:
    """Fold the ``Qualifier`` query parameter into the function name moto passes on."""
    for operation in ("put_function_event_invoke_config", "update_function_event_invoke_config",
                      "get_function_event_invoke_config",
                      "delete_function_event_invoke_config"):
        setattr(response_cls, operation, _qualified(getattr(response_cls, operation)))


def _qualified(operation: Any) -> Any:
    def handle(self: Any) -> Any:
        qualifier = (self.querystring.get("Qualifier") or [None])[0]
        name = unquote(self.path.rsplit("/", 2)[1])
        if qualifier and split_qualifier(name)[1] is None:
            prefix, _, _ = self.path.rpartition("/")
            head, _, _ = prefix.rpartition("/")
            self.path = f"{head}/{name}:{qualifier}/event-invoke-config"
        return operation(self)

    return handle
