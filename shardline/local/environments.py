"""Execution environments: each function's code runs in worker processes of its own.

As on Lambda, an environment is started for a function when no warm one is free, runs
the function's init code once (the handler module's import), then serves one invocation
at a time and stays warm for the next. It sees exactly the function's environment
variables, the ones Lambda sets, and temporary credentials of the function's execution
role, and nothing of the host process's environment. An invocation that overruns the
function's timeout ends its environment (the next one starts afresh and runs init again),
and so does one whose runtime exits. A function has at most ``capacity`` environments:
its reserved concurrency, or the runtime's local cap.

``ExecutionEnvironment`` is one worker (``bootstrap.py`` in a fresh interpreter);
``EnvironmentPool`` holds a function's warm environments and admits invocations.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

BOOTSTRAP = str(Path(__file__).with_name("bootstrap.py"))
# Lambda gives a function's init phase 10 s (on-demand); the interpreter's own start-up
# and the dependencies' imports are part of it here, so allow for a loaded machine.
INIT_TIMEOUT_S = 30.0
# Lambda recycles environments: idle ones after a while, and all of them within hours
# (so credentials are renewed). Both bounds also keep a long-running stack's memory flat.
MAX_IDLE_S = 600.0
MAX_AGE_S = 2700.0


@dataclass(frozen=True)
class EnvironmentSpec:
    """What an environment is started from: a function's code, handler and variables."""

    function_name: str
    handler: str
    code_root: Path
    variables: dict[str, str]
    log_path: Path | None
    generation: int  # the function's configuration this environment was started for


@dataclass(frozen=True)
class Outcome:
    """One invocation in an environment: ``result`` (payload is the JSON text),
    ``error`` (payload is the error document), ``timeout`` or ``exit``."""

    kind: str
    payload: Any = None
    init_ms: float | None = None  # set on the invocation that ran the init phase


class ExecutionEnvironment:
    """One worker process running ``bootstrap.py`` for one function."""

    def __init__(self, spec: EnvironmentSpec) -> None:
        self.spec = spec
        self.started_at = time.monotonic()
        self.last_used = self.started_at
        self.ready = False
        self._exited = False
        parent_end, child_end = socket.socketpair()
        log = open(spec.log_path, "ab") if spec.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", BOOTSTRAP, str(child_end.fileno()), spec.handler,
                 "1" if "LC_CTYPE" in spec.variables else "0"],
                env=spec.variables, cwd=spec.code_root, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, pass_fds=(child_end.fileno(),),
                start_new_session=True,
            )
        finally:
            child_end.close()
            if spec.log_path:
                log.close()  # type: ignore[union-attr]
        self.connection = Connection(parent_end.detach())

    def invoke(self, message: dict[str, Any], timeout_s: float) -> Outcome:
        """Run one invocation (the init phase first, on a new environment); the log gets
        Lambda's START, END and REPORT lines around it."""
        request_id = message["request_id"]
        init_ms = None
        if not self.ready:
            started = time.monotonic()
            reply = self._receive(INIT_TIMEOUT_S)
            if reply is None or reply.get("type") != "ready":
                return self._failed_init(reply)
            self.ready = True
            init_ms = (time.monotonic() - started) * 1000
        self._log(f"START RequestId: {request_id} Version: $LATEST")
        started = time.monotonic()
        outcome = self._run(message, timeout_s, init_ms)
        self.last_used = time.monotonic()
        duration_ms = (self.last_used - started) * 1000
        self._log(f"END RequestId: {request_id}")
        report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                  f"Billed Duration: {math.ceil(duration_ms)} ms\t"
                  f"Max Memory Used: {self._peak_memory_mb()} MB")
        if init_ms is not None:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        if outcome.kind == "timeout":
            report += "\tStatus: timeout"
        self._log(report)
        return outcome

    def _run(self, message: dict[str, Any], timeout_s: float,
             init_ms: float | None) -> Outcome:
        # The timeout runs from here, after init, as Lambda's does.
        deadline_ms = int(time.time() * 1000 + timeout_s * 1000)
        try:
            self.connection.send_bytes(json.dumps({**message, "deadline_ms": deadline_ms})
                                       .encode())
        except OSError:
            self._exited = True
            return Outcome("exit", self._exit_status(), init_ms)
        reply = self._receive(timeout_s)
        if reply is None:
            if self._exited:
                return Outcome("exit", self._exit_status(), init_ms)
            return Outcome("timeout", None, init_ms)
        if reply["type"] == "result":
            return Outcome("result", reply["payload"], init_ms)
        return Outcome("error", reply["error"], init_ms)

    def _log(self, line: str) -> None:
        if self.spec.log_path is not None:
            with open(self.spec.log_path, "a", encoding="utf-8") as log:
                log.write(line + "\n")

    def _peak_memory_mb(self) -> int:
        """The environment's peak resident memory (VmHWM), as REPORT's Max Memory Used."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
        return 0

    def _receive(self, timeout_s: float) -> dict[str, Any] | None:
        """The next message, or None when none came in time or the runtime exited
        (``_exited``)."""
        try:
            if not self.connection.poll(timeout_s):
                return None
            return json.loads(self.connection.recv_bytes())
        except (EOFError, OSError):
            self._exited = True
            return None

    def _failed_init(self, reply: dict[str, Any] | None) -> Outcome:
        if reply is not None:
            return Outcome("error", reply["error"])
        if self._exited:
            return Outcome("exit", self._exit_status())
        return Outcome("timeout")

    def _exit_status(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.process.wait(timeout=5)
        return None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


@dataclass
class EnvironmentPool:
    """A function's environments: warm ones are reused, new ones started up to
    ``capacity``; an invocation waits for a free one beyond that."""

    capacity: int
    generation: int = 0
    max_idle_s: float = MAX_IDLE_S
    max_age_s: float = MAX_AGE_S
    started: int = 0  # environments started so far (cold starts)
    _idle: list[ExecutionEnvironment] = field(default_factory=list)
    _busy: int = 0
    _closed: bool = False
    _condition: threading.Condition = field(default_factory=threading.Condition)

    def acquire(self, make_spec: Callable[[int], EnvironmentSpec],
                timeout_s: float | None) -> ExecutionEnvironment | None:
        """A warm environment, or a new one started from ``make_spec(generation)`` (called
        only then: a warm invocation builds no spec); None if none freed up in time."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._condition:
            while True:
                self._retire_stale()
                if self._closed:
                    return None
                if self._idle:
                    self._busy += 1
                    return self._idle.pop()
                if self._busy < self.capacity:
                    self._busy += 1
                    self.started += 1
                    generation = self.generation
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._condition.wait(0.5 if remaining is None else min(remaining, 0.5))
        try:
            return ExecutionEnvironment(make_spec(generation))
        except BaseException:
            self._settled()
            raise

    def release(self, environment: ExecutionEnvironment, reusable: bool) -> None:
        """Give an environment back: kept warm, or ended (timed out, crashed, outdated)."""
        with self._condition:
            keep = (reusable and not self._closed
                    and environment.spec.generation == self.generation)
            if keep:
                self._idle.append(environment)
            self._busy -= 1
            self._condition.notify_all()
        if not keep:
            environment.kill()

    def renew(self, generation: int) -> None:
        """The function's configuration or code changed: end the warm environments; busy
        ones end when their invocation returns."""
        with self._condition:
            self.generation = generation
            self._retire_stale()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._condition.notify_all()
        for environment in idle:
            environment.kill()

    @property
    def warm(self) -> int:
        with self._condition:
            return len(self._idle)

    def _retire_stale(self) -> None:
        now = time.monotonic()
        stale = [env for env in self._idle
                 if env.spec.generation != self.generation
                 or now - env.last_used > self.max_idle_s
                 or now - env.started_at > self.max_age_s]
        if stale:
            self._idle = [env for env in self._idle if env not in stale]
            for environment in stale:
                environment.kill()

    def _settled(self) -> None:
        with self._condition:
            self._busy -= 1
            self._condition.notify_all()
