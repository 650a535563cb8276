"""Capped exponential backoff with full jitter, the one retry delay policy of shardline
(producers and Lambdas alike; it lives here because Lambda packages hold only `lambdas`).

Full jitter (sleep a uniform random time between 0 and the capped exponential) spreads
competing producers apart after a shared throttle, instead of having them retry in lock
step and collide again (AWS Architecture Blog, "Exponential Backoff And Jitter").

The policy is a pure function of the attempt number and a ``random.Random``; the caller
owns the sleeping, so tests inject a fake ``sleep`` and a seeded ``rng`` and never wait.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class FullJitterBackoff:
    """Delay before retry number ``attempt`` (0 = first retry): U(0, min(cap, base·2^n))."""

    base_delay_s: float = 0.05
    max_delay_s: float = 2.0
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if not self.base_delay_s >= 0:
            raise ValueError("base_delay_s must be >= 0")
        if not self.max_delay_s >= self.base_delay_s:
            raise ValueError("max_delay_s must be >= base_delay_s")

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the delay for ``attempt``; grows 2x per attempt up to the cap."""
        # min() before the power would overflow for large attempts, so cap the exponent.
        return min(self.max_delay_s, self.base_delay_s * 2.0 ** min(max(attempt, 0), 62))

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0.0, self.ceiling(attempt))


__all__ = ["FullJitterBackoff"]
