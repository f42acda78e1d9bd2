"""A drive's own time cap: the wall-clock moment past which a run stops itself.

The budget caps what a run spends (tokens, cost, seconds of model work); this
caps how long one drive of it takes, model calls, sandbox runs and waits
together, so that a run given a fixed time (an evaluation's case) stops itself
before anyone has to kill it, and says what it spent and built.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(frozen=True)
class Deadline:
    """``cap_s`` seconds from when a drive began, on ``clock`` (monotonic: never moved back).

    Attributes:
        cap_s: the time cap, as the ``run_deadline_s`` setting gives it.
        at: the clock's reading past which the run must stop.
        clock: the clock (``time.monotonic``; a test passes its own).

    """

    cap_s: float
    at: float
    clock: Clock = field(default=time.monotonic, compare=False)

    @classmethod
    def starting(cls, cap_s: float, clock: Clock = time.monotonic) -> Deadline | None:
        """Return the deadline of a drive that begins now (None: a cap of 0 is no cap)."""
        return cls(cap_s, clock() + cap_s, clock) if cap_s > 0 else None

    def passed(self) -> str:
        """Say why the run must stop now ("" while time is left)."""
        return f"time cap of {self.cap_s:g} s reached" if self.clock() >= self.at else ""
