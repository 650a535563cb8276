"""The local HTTP API endpoint: an HTTP server on localhost (stdlib ``http.server``, one
thread per request, in a background thread) in front of ``LocalApiGateway``.

``serve_http_api`` reads the HTTP API Terraform created in the embedded API Gateway v2
and serves it on ``host:port``; the caller invokes through the engine and says whether
IAM is enforced. Port 0 picks a free port (``ApiServer.url`` says which).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from shardline.errors import ShardlineError
from shardline.local.api_events import ApiRequest, ApiResponse
from shardline.local.api_gateway import IamAuthorizer, Invoke, LocalApiGateway
from shardline.local.api_routes import load_http_apis
from shardline.local.identities import IdentityCache, issued_secret

log = logging.getLogger("shardline.api")

DEFAULT_API_PORT = 4567
# The embedded AWS's administrator key (its dummy credentials): allowed everything.
ADMIN_KEY, ADMIN_SECRET = "test", "test"
MAX_BODY_BYTES = 10 * 1024 * 1024  # an HTTP API's payload quota


class ApiServer:
    """A running local endpoint of one HTTP API; ``stop()`` ends it."""

    def __init__(self, gateway: LocalApiGateway, host: str, port: int) -> None:
        self.gateway = gateway
        try:
            self._server = ThreadingHTTPServer((host, port), _handler_for(gateway))
        except OSError as exc:
            raise ShardlineError(f"cannot serve the HTTP API on {host}:{port}: "
                                 f"{exc.strerror} (choose another with --api-port)") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="local-http-api", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def secret_lookup(account: str) -> Callable[[str], tuple[str, str | None] | None]:
    """Secrets of the keys the embedded STS and IAM issued, and the administrator's."""
    def lookup(access_key: str) -> tuple[str, str | None] | None:
        if access_key == ADMIN_KEY:
            return ADMIN_SECRET, None
        return issued_secret(account, access_key)
    return lookup


def serve_http_api(apigateway: Any, invoke: Invoke, *, account: str, region: str,
                   iam_enforced: Callable[[], bool], host: str = "127.0.0.1",
                   port: int = DEFAULT_API_PORT) -> ApiServer | None:
    """Serve the embedded API Gateway's HTTP API on ``host:port``; None when Terraform
    created none (the first by name when it created several)."""
    apis = sorted(load_http_apis(apigateway), key=lambda api: api.name)
    if not apis:
        return None
    if len(apis) > 1:
        log.warning("serving HTTP API %s only (of %s)", apis[0].name,
                    ", ".join(api.name for api in apis))
    authorizer = IamAuthorizer(IdentityCache(account), secret_lookup(account), iam_enforced)
    gateway = LocalApiGateway(apis[0], invoke, account=account, region=region,
                              authorizer=authorizer)
    return ApiServer(gateway, host, port)


def _handler_for(gateway: LocalApiGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "shardline-local-apigateway"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(ApiResponse.message(413, "Request Entity Too Large"))
                return
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = ApiRequest(self.command, parts.path or "/", parts.query,
                                 tuple(self.headers.items()), body,
                                 source_ip=self.client_address[0],
                                 protocol=self.request_version)
            try:
                response = gateway.handle(request)
            except Exception:
                log.exception("the local API gateway failed on %s %s", self.command,
                              parts.path)
                response = ApiResponse.message(500, "Internal Server Error")
            self._send(response)

        def _send(self, response: ApiResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.send_header("apigw-requestid", "local")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


__all__ = ["DEFAULT_API_PORT", "ApiServer", "secret_lookup", "serve_http_api"]
