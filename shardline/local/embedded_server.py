"""The embedded AWS's HTTP server: moto's threaded WSGI server, its request threads reused.

werkzeug's threaded server (what moto's own server runs) starts a thread for every
connection, and every request is a connection of its own (it answers each with
``Connection: close``). Starting a thread waits until the new thread has run, and the new
thread needs the GIL to run: with a fleet's worth of environments calling at once, the one
thread accepting connections spent most of its time waiting its turn for the GIL, and
every request, the cheap ones included, queued behind it (a Query answered in 45 ms took
two seconds to reach).

Here a request runs on a thread left idle by an earlier request, and a new thread is
started only when none is idle, up to ``MAX_REQUEST_THREADS`` (werkzeug had no bound):
so a request that waits on another, such as a synchronous Invoke whose function calls
back, waits for a free thread only beyond that many requests at once.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from werkzeug.serving import ThreadedWSGIServer

# Requests served at once; beyond it they queue for a free thread.
MAX_REQUEST_THREADS = 1024


class PooledWSGIServer(ThreadedWSGIServer):
    """``ThreadedWSGIServer`` whose request threads are kept and reused."""

    def __init__(self, host: str, port: int, app: Any, **kwargs: Any) -> None:
        super().__init__(host, port, app, **kwargs)
        self._pool = ThreadPoolExecutor(MAX_REQUEST_THREADS,
                                        thread_name_prefix="embedded-aws-request")

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket],
                        client_address: Any) -> None:
        self._pool.submit(self.process_request_thread, request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["MAX_REQUEST_THREADS", "PooledWSGIServer"]
