"""The HTTP APIs of the embedded API Gateway v2, as Terraform created them: each API's
routes (route key, authorization type, integration), its ``$default`` stage's throttling
and its CORS configuration; and the token bucket that throttles a route.

Throttling is per route, as on AWS: a route with route settings of its own
(``RouteSettings``) has its limits, every other route the stage's default route settings
(``DefaultRouteSettings``), else the account's quota.

Route selection follows API Gateway's for static paths: ``METHOD /path`` first, then
``ANY /path``, then ``$default``. Path variables (``{id}``, ``{proxy+}``) are not matched
(docs/local-runtime.md lists it): shardline's routes have none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_STAGE = "$default"
# An HTTP API's account-level quota when a stage sets no throttling (per region).
ACCOUNT_BURST, ACCOUNT_RATE = 5000, 10000.0


@dataclass(frozen=True)
class Route:
    route_key: str  # "GET /query" or "$default"
    authorization_type: str  # NONE, AWS_IAM, JWT, CUSTOM
    integration_uri: str  # the function (alias) ARN of an AWS_PROXY integration
    payload_format_version: str = "2.0"


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def allows(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value for ``origin``; None if not allowed."""
        if origin in self.allow_origins:
            return origin
        if "*" in self.allow_origins:
            return "*"
        return None


@dataclass(frozen=True)
class HttpApi:
    api_id: str
    name: str
    routes: tuple[Route, ...]
    burst_limit: int = ACCOUNT_BURST
    rate_limit: float = ACCOUNT_RATE
    cors: Cors | None = None
    # Route key → (burst, rate) of the routes with route-level throttling.
    route_limits: dict[str, tuple[int, float]] = field(default_factory=dict)

    def limits(self, route_key: str) -> tuple[int, float]:
        """(burst, rate) that throttle ``route_key``."""
        return self.route_limits.get(route_key, (self.burst_limit, self.rate_limit))

    def route(self, method: str, path: str) -> Route | None:
        by_key = {route.route_key: route for route in self.routes}
        for key in (f"{method.upper()} {path}", f"ANY {path}", "$default"):
            if key in by_key:
                return by_key[key]
        return None


def load_http_apis(client: Any) -> list[HttpApi]:
    """Every HTTP API of the embedded API Gateway v2 (``client``: its boto3 client)."""
    apis = []
    for api in client.get_apis().get("Items", []):
        if api.get("ProtocolType") != "HTTP":
            continue
        api_id = api["ApiId"]
        integrations = {item["IntegrationId"]: item
                        for item in client.get_integrations(ApiId=api_id).get("Items", [])}
        routes = tuple(_route(item, integrations)
                       for item in client.get_routes(ApiId=api_id).get("Items", []))
        stage = next((item for item in client.get_stages(ApiId=api_id).get("Items", [])
                      if item.get("StageName") == DEFAULT_STAGE), {})
        burst, rate = _limits(stage.get("DefaultRouteSettings"), (ACCOUNT_BURST, ACCOUNT_RATE))
        apis.append(HttpApi(
            api_id, api.get("Name", ""), routes, burst_limit=burst, rate_limit=rate,
            cors=_cors(api.get("CorsConfiguration")),
            route_limits={key: _limits(settings, (burst, rate))
                          for key, settings in (stage.get("RouteSettings") or {}).items()}))
    return apis


def _limits(settings: dict[str, Any] | None,
            otherwise: tuple[int, float]) -> tuple[int, float]:
    """(burst, rate) of route settings; ``otherwise``'s for a limit they do not set."""
    settings = settings or {}
    return (int(settings.get("ThrottlingBurstLimit") or otherwise[0]),
            float(settings.get("ThrottlingRateLimit") or otherwise[1]))


def _route(item: dict[str, Any], integrations: dict[str, dict[str, Any]]) -> Route:
    target = item.get("Target", "")
    integration = integrations.get(target.removeprefix("integrations/"), {})
    return Route(item["RouteKey"], item.get("AuthorizationType", "NONE"),
                 integration.get("IntegrationUri", ""),
                 integration.get("PayloadFormatVersion", "2.0"))


def _cors(config: dict[str, Any] | None) -> Cors | None:
    if not config:
        return None
    return Cors(
        allow_origins=tuple(config.get("AllowOrigins") or ()),
        allow_methods=tuple(method.upper() for method in config.get("AllowMethods") or ()),
        allow_headers=tuple(header.lower() for header in config.get("AllowHeaders") or ()),
        expose_headers=tuple(config.get("ExposeHeaders") or ()),
        max_age=config.get("MaxAge"),
        allow_credentials=bool(config.get("AllowCredentials")))


@dataclass
class TokenBucket:
    """A stage's throttle: ``burst`` requests at once, refilled at ``rate`` per second."""

    burst: int
    rate: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _at: float = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)
        self._at = self.clock()

    def take(self) -> bool:
        """Admit one request (True) or throttle it (False)."""
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


__all__ = ["DEFAULT_STAGE", "Cors", "HttpApi", "Route", "TokenBucket", "load_http_apis"]
