"""The local API Gateway: one HTTP API of the embedded API Gateway v2 served as AWS serves
it, for the requests a local HTTP server hands it (``api_server``).

For each request, in API Gateway's order:

1. a CORS preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
   on an API with a CORS configuration is answered here (204), whatever the routes;
2. the route is selected (``api_routes``); none → 404 ``{"message":"Not Found"}``;
3. the route's throttle (a token bucket of the route's burst and rate, else the stage's
   default route settings) → 429
   ``{"message":"Too Many Requests"}``;
4. an ``AWS_IAM`` route, while IAM is enforced, needs a valid SigV4 signature
   (``api_sigv4``) from a caller whose policies allow ``execute-api:Invoke`` on
   ``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD><path>`` → else 403;
5. the integration (the function's alias) is invoked with the payload format 2.0 event
   through the engine's Invoke, and its result mapped to the response (``api_events``);
   a function error or a result that is not JSON → 500 ``{"message":"Internal Server
   Error"}``;
6. the CORS headers of an allowed ``Origin`` are added to the response.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shardline.local.api_events import (
    ApiRequest,
    ApiResponse,
    EventContext,
    IamCaller,
    http_event,
    lambda_response,
)
from shardline.local.api_routes import DEFAULT_STAGE, Cors, HttpApi, Route, TokenBucket
from shardline.local.api_sigv4 import SecretLookup, verify
from shardline.local.iam_policy import Decision, evaluate
from shardline.local.identities import IdentityCache

log = logging.getLogger("shardline.api")

# (function or alias ARN, JSON payload) → (result payload, X-Amz-Function-Error or None)
Invoke = Callable[[str, bytes], "tuple[bytes, str | None]"]
INVOKE_ACTION = "execute-api:Invoke"


@dataclass
class IamAuthorizer:
    """Who signed a request and whether their policies allow it to invoke the route."""

    identities: IdentityCache
    secrets: SecretLookup
    enforced: Callable[[], bool]

    def authorize(self, request: ApiRequest, resource: str, *, region: str,
                  now_s: float) -> tuple[IamCaller | None, str | None]:
        """(the caller, None) when allowed; (None, the 403 message) when not."""
        verdict = verify(request, self.secrets, region=region, now_s=now_s)
        if verdict.access_key is None:
            return None, verdict.refusal
        identity = self.identities.identify(verdict.access_key)
        principal = identity.principal
        caller = IamCaller(verdict.access_key, principal.account, principal.arn,
                           principal.arn.rsplit("/", 1)[-1])
        if identity.administrator:
            return caller, None
        context = {"aws:principalarn": principal.role_arn or principal.arn,
                   "aws:principalaccount": principal.account,
                   "aws:requestedregion": region, "aws:securetransport": "true"}
        decision = evaluate(identity.policies, INVOKE_ACTION, resource, context)
        if decision is not Decision.ALLOW:
            log.warning("access denied: %s may not %s on %s (%s)", principal.arn,
                        INVOKE_ACTION, resource, decision.value)
            return None, "Forbidden"
        return caller, None


class LocalApiGateway:
    """Serves one HTTP API (``handle``): routes, throttling, IAM, CORS, Lambda proxy."""

    def __init__(self, api: HttpApi, invoke: Invoke, *, account: str, region: str,
                 authorizer: IamAuthorizer | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.invoke = invoke
        self.account = account
        self.region = region
        self.authorizer = authorizer
        self.clock = clock
        self.throttles = {route.route_key: TokenBucket(*api.limits(route.route_key))
                          for route in api.routes}

    def handle(self, request: ApiRequest) -> ApiResponse:
        origin = request.header("origin")
        if self.api.cors is not None and _is_preflight(request):
            return _preflight(self.api.cors, request)
        response = self._route(request)
        if origin and self.api.cors is not None:
            response = _with_cors(response, self.api.cors, origin)
        return response

    def resource_arn(self, method: str, path: str) -> str:
        """The execute-api ARN a caller needs ``execute-api:Invoke`` on for a request."""
        return (f"arn:aws:execute-api:{self.region}:{self.account}:{self.api.api_id}/"
                f"{DEFAULT_STAGE}/{method.upper()}{path}")

    def _route(self, request: ApiRequest) -> ApiResponse:
        route = self.api.route(request.method, request.path)
        if route is None:
            return ApiResponse.message(404, "Not Found")
        if not self.throttles[route.route_key].take():
            return ApiResponse.message(429, "Too Many Requests")
        now = self.clock()
        caller = None
        if route.authorization_type == "AWS_IAM" and self._iam_enforced():
            assert self.authorizer is not None
            caller, refusal = self.authorizer.authorize(
                request, self.resource_arn(request.method, request.path),
                region=self.region, now_s=now)
            if refusal is not None:
                return ApiResponse.message(403, refusal)
        context = EventContext(self.api.api_id, self.account, route.route_key,
                               str(uuid.uuid4()), now, caller=caller)
        return self._integrate(route, http_event(request, context))

    def _iam_enforced(self) -> bool:
        return self.authorizer is not None and self.authorizer.enforced()

    def _integrate(self, route: Route, event: dict[str, Any]) -> ApiResponse:
        try:
            payload, function_error = self.invoke(route.integration_uri,
                                                  json.dumps(event).encode())
        except Exception as exc:  # the invocation failed (throttled, missing function)
            log.warning("integration %s failed: %s", route.integration_uri, exc)
            return ApiResponse.message(500, "Internal Server Error")
        if function_error:
            log.warning("integration %s: function error %s", route.integration_uri,
                        function_error)
            return ApiResponse.message(500, "Internal Server Error")
        return lambda_response(payload)


def _is_preflight(request: ApiRequest) -> bool:
    return (request.method.upper() == "OPTIONS" and bool(request.header("origin"))
            and bool(request.header("access-control-request-method")))


def _preflight(cors: Cors, request: ApiRequest) -> ApiResponse:
    """API Gateway's own answer to a preflight: the configured CORS headers when the
    origin is allowed, none otherwise (the browser then refuses the request)."""
    allowed = cors.allows(request.header("origin") or "")
    if allowed is None:
        return ApiResponse(204)
    headers = [("access-control-allow-origin", allowed),
               ("access-control-allow-methods", ",".join(cors.allow_methods) or "*")]
    if cors.allow_headers:
        headers.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        headers.append(("access-control-max-age", str(cors.max_age)))
    if cors.allow_credentials:
        headers.append(("access-control-allow-credentials", "true"))
    return ApiResponse(204, tuple(headers))


def _with_cors(response: ApiResponse, cors: Cors, origin: str) -> ApiResponse:
    allowed = cors.allows(origin)
    if allowed is None:
        return response
    headers = [(name, value) for name, value in response.headers
               if not name.lower().startswith("access-control-")]
    headers.append(("access-control-allow-origin", allowed))
    if cors.expose_headers:
        headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    if cors.allow_credentials:
        headers.append(("access-control-allow-credentials", "true"))
    return ApiResponse(response.status, tuple(headers), response.body)


__all__ = ["INVOKE_ACTION", "IamAuthorizer", "Invoke", "LocalApiGateway"]
