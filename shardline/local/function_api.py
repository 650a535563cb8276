"""Lambda's function-configuration and alias rules that moto does not check.

AWS refuses a function whose environment sets a key the Lambda runtime reserves (the
variables it sets itself: credentials, ``AWS_REGION``, ``_HANDLER`` ...), a key that
is not of the form ``[a-zA-Z]([a-zA-Z0-9_])+``, or variables over 4 KB in all; moto
stores them. The local runtime sets those variables itself in every execution
environment, so accepting them would let a function pass locally that AWS rejects at
``terraform apply``.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

RESERVED_KEYS = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ",
})
KEY_PATTERN = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")
ENVIRONMENT_LIMIT_BYTES = 4096

MAX_ADDITIONAL_VERSIONS = 1  # an alias points to at most two versions

_lock = threading.Lock()
_completed = False


def environment_error(variables: dict[str, str]) -> str | None:
    """Why AWS would refuse these environment variables, or None."""
    reserved = sorted(key for key in variables if key in RESERVED_KEYS)
    if reserved:
        return ("Lambda was unable to configure your environment variables because the "
                "environment variables you have provided contains reserved keys that are "
                "currently not supported for modification. Reserved keys used in this "
                f"request: {', '.join(reserved)}")
    malformed = sorted(key for key in variables if not KEY_PATTERN.fullmatch(key))
    if malformed:
        return (f"1 validation error detected: Value at 'environment.variables' failed to "
                f"satisfy constraint: Map keys must satisfy constraint: [Member must "
                f"satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+] "
                f"(keys: {', '.join(malformed)})")
    measured = json.dumps(variables, separators=(",", ":"))
    if len(measured.encode()) > ENVIRONMENT_LIMIT_BYTES:
        return ("Lambda was unable to configure your environment variables because the "
                "environment variables you have provided exceeded the 4KB limit. "
                f"String measured: {measured}")
    return None


def routing_error(version: str, routing: dict[str, Any] | None) -> str | None:
    """Why AWS would refuse this alias routing ("Implement Lambda canary deployments using
    a weighted alias", "AliasRoutingConfiguration"), or None."""
    weights = (routing or {}).get("AdditionalVersionWeights") or {}
    if not weights:
        return None
    if len(weights) > MAX_ADDITIONAL_VERSIONS:
        return "An alias can point to a maximum of two function versions."
    if version == "$LATEST":
        return ("$LATEST is not supported for an alias pointing to more than 1 version: "
                "both versions must be published.")
    for additional, weight in weights.items():
        if not str(additional).isdigit():
            return (f"Invalid function version {additional} in AdditionalVersionWeights: "
                    "it must be a published version number.")
        if additional == version:
            return ("Invalid function version in AdditionalVersionWeights: it must differ "
                    "from the alias's primary version.")
        if not 0.0 <= float(weight) <= 1.0:
            return (f"1 validation error detected: Value '{weight}' at "
                    "'routingConfig.additionalVersionWeights' failed to satisfy constraint: "
                    "Member must have value between 0.0 and 1.0")
    return None


def complete_moto_function_api() -> None:
    """Refuse, in CreateFunction and UpdateFunctionConfiguration, the environments AWS
    refuses. Idempotent; patches moto's backend class in this process."""
    global _completed
    with _lock:
        if _completed:
            return
        from moto.awslambda import models
        from moto.awslambda.exceptions import InvalidParameterValueException

        backend_cls = models.LambdaBackend
        create = backend_cls.create_function
        update = backend_cls.update_function_configuration

        def check(body: dict[str, Any]) -> None:
            variables = (body.get("Environment") or {}).get("Variables") or {}
            problem = environment_error(variables)
            if problem:
                raise InvalidParameterValueException(problem)

        def create_function(self: Any, spec: dict[str, Any]) -> Any:
            check(spec)
            return create(self, spec)

        def update_function_configuration(self: Any, function_name: str, qualifier: str,
                                          body: dict[str, Any]) -> Any:
            check(body)
            return update(self, function_name, qualifier, body)

        backend_cls.create_function = create_function
        backend_cls.update_function_configuration = update_function_configuration
        _refuse_alias_routing(backend_cls, InvalidParameterValueException)
        _completed = True


def _refuse_alias_routing(backend_cls: Any, invalid: Any) -> None:
    """CreateAlias and UpdateAlias refuse the routing AWS refuses (moto stores it)."""
    create, update = backend_cls.create_alias, backend_cls.update_alias

    def create_alias(self: Any, name: str, function_name: str, function_version: str,
                     description: str, routing_config: Any) -> Any:
        problem = routing_error(function_version, routing_config)
        if problem:
            raise invalid(problem)
        return create(self, name, function_name, function_version, description,
                      routing_config)

    def update_alias(self: Any, name: str, function_name: str, function_version: str,
                     description: str, routing_config: Any) -> Any:
        version = function_version or self.get_alias(name, function_name).function_version
        current = self.get_alias(name, function_name).routing_config
        problem = routing_error(version, current if routing_config is None else routing_config)
        if problem:
            raise invalid(problem)
        return update(self, name, function_name, function_version, description,
                      routing_config)

    backend_cls.create_alias = create_alias
    backend_cls.update_alias = update_alias
