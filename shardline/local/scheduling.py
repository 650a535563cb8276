"""Clocks and drivers: one component model for real-time and deterministic runs.

Every moving part of the local runtime (a Kinesis or DynamoDB-stream shard consumer, an
SQS poller, a schedule, the asynchronous-invocation queue) is a ``Component``: its
``step(now)`` does what is due at ``now`` — one poll, one invocation — and returns the
time it next wants to run. Components never read the clock themselves.

* ``RealTimeDriver`` gives each component a thread that sleeps until its next wake-up
  (``shardline local up``).
* ``DeterministicDriver`` runs every component on the caller's thread against a
  ``VirtualClock``: ``advance(seconds)`` repeatedly steps the component with the earliest
  wake-up, moving the clock to it, so a test sees the exact, repeatable sequence of
  invocations AWS's rules produce, in milliseconds instead of minutes.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("shardline.engine")


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""
        ...


class RealClock:
    def now(self) -> float:
        return time.time()


@dataclass
class VirtualClock:
    """A clock that moves only when told to (deterministic mode)."""

    current: float = field(default_factory=time.time)

    def now(self) -> float:
        return self.current

    def advance_to(self, when: float) -> None:
        if when > self.current:
            self.current = when


class Component(Protocol):
    """A part of the runtime driven by ``step``."""

    name: str

    def step(self, now: float) -> float:
        """Do what is due at ``now``; return when to be stepped next (``math.inf``: only
        when something external happens, e.g. new records — drivers still re-poll)."""
        ...


@dataclass
class _Slot:
    component: Component
    wake: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class RealTimeDriver:
    """One thread per component; each sleeps until its next wake-up (bounded)."""

    def __init__(self, clock: Clock | None = None, max_sleep_s: float = 1.0) -> None:
        self.clock = clock or RealClock()
        self.max_sleep_s = max_sleep_s
        self._slots: dict[int, _Slot] = {}
        self._lock = threading.Lock()

    def add(self, component: Component) -> None:
        slot = _Slot(component)
        slot.thread = threading.Thread(target=self._run, args=(slot,), daemon=True,
                                       name=f"shardline-{component.name}")
        with self._lock:
            self._slots[id(component)] = slot
        slot.thread.start()

    def remove(self, component: Component) -> None:
        with self._lock:
            slot = self._slots.pop(id(component), None)
        if slot is not None:
            slot.stop.set()
            if slot.thread is not None and slot.thread is not threading.current_thread():
                slot.thread.join(timeout=10)

    def stop(self) -> None:
        for slot in list(self._slots.values()):
            self.remove(slot.component)

    def _run(self, slot: _Slot) -> None:
        while not slot.stop.is_set():
            try:
                wake = slot.component.step(self.clock.now())
            except Exception:
                log.exception("component %s failed; retrying in 1 s", slot.component.name)
                wake = self.clock.now() + 1.0
            delay = min(max(0.0, wake - self.clock.now()), self.max_sleep_s)
            slot.stop.wait(delay)


class DeterministicDriver:
    """Single-threaded stepping on a virtual clock; ties go to the oldest component."""

    def __init__(self, clock: VirtualClock, idle_poll_s: float = 1.0) -> None:
        self.clock = clock
        self.idle_poll_s = idle_poll_s
        self._slots: list[_Slot] = []

    def add(self, component: Component) -> None:
        self._slots.append(_Slot(component, wake=self.clock.now()))

    def remove(self, component: Component) -> None:
        self._slots = [s for s in self._slots if s.component is not component]

    def stop(self) -> None:
        self._slots.clear()

    def advance(self, seconds: float, *, max_steps: int = 1_000_000) -> int:
        """Run everything due within the next ``seconds``; return the number of steps."""
        return self.run_until(self.clock.now() + seconds, max_steps=max_steps)

    def run_until(self, deadline: float, *, max_steps: int = 1_000_000) -> int:
        steps = 0
        while steps < max_steps:
            due = [s for s in self._slots if s.wake <= deadline]
            if not due:
                break
            slot = min(due, key=lambda s: s.wake)
            self.clock.advance_to(slot.wake)
            wake = slot.component.step(self.clock.now())
            # A component that has nothing scheduled is still polled at the idle rate,
            # as real pollers are; it never wakes in the past.
            if math.isinf(wake):
                wake = self.clock.now() + self.idle_poll_s
            slot.wake = max(wake, self.clock.now() + 1e-6) if wake <= self.clock.now() \
                else wake
            steps += 1
        else:
            raise RuntimeError(f"more than {max_steps} steps before {deadline}: a component "
                               "keeps asking to run immediately")
        self.clock.advance_to(deadline)
        return steps
