"""Sign-in throttling: too many wrong passwords lock the name and the address for a while.

Failures are counted per name (whether or not that name exists, so a lockout
says nothing about who exists) and per client address, in a sliding window.
When either reaches ``max_failures`` it is locked for ``lockout_s`` seconds.
An attempt is counted *before* its password is checked, so that many
concurrent guesses cannot all slip in before the first failure is recorded;
a successful sign-in takes its own attempt back and clears the name.

The state lives in the chat process's memory: the chat is one process
(Chainlit keeps its sessions there too), a lockout is short, and a restart,
which needs the operator, clears it. The tables are bounded (``max_keys``,
oldest dropped first), so a flood of made-up names cannot grow them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from devfactory.settings import Settings


class LockedError(RuntimeError):
    """Too many recent failures for this name or address."""


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """One counted sign-in attempt (what ``succeeded``/``failed`` settle)."""

    keys: tuple[str, ...]
    at: float


class SignInThrottle:
    """Count sign-in failures per name and per address; lock either after too many.

    Args:
        max_failures: failures in ``window_s`` that lock a name or an address.
        window_s: the sliding window failures are counted in.
        lockout_s: how long a lock lasts.
        max_keys: the most names and addresses remembered at once.
        clock: the time source (tests pass their own).

    """

    def __init__(
        self,
        *,
        max_failures: int,
        window_s: float,
        lockout_s: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_keys = max_keys
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, settings: Settings) -> SignInThrottle:
        """Return a throttle with the limits in ``settings``."""
        return cls(
            max_failures=settings.chat_login_max_failures,
            window_s=settings.chat_login_window_s,
            lockout_s=settings.chat_login_lockout_s,
        )

    def _record(self, key: str, now: float) -> _Record:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _Record()
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)
        else:
            self._records.move_to_end(key)
        record.failures = [t for t in record.failures if now - t < self.window_s]
        return record

    def attempt(self, name: str, address: str) -> Attempt:
        """Count a try by ``name`` from ``address``; raise ``LockedError`` if either is locked."""
        keys = (f"name:{name.lower()}", f"addr:{address}")
        with self._lock:
            now = self.clock()
            records = [self._record(k, now) for k in keys]
            if any(r.locked_until > now or len(r.failures) >= self.max_failures for r in records):
                raise LockedError("too many failed sign-ins; try again later")
            for record in records:
                record.failures.append(now)
            return Attempt(keys, now)

    def failed(self, attempt: Attempt) -> None:
        """Settle ``attempt`` as a failure: lock whatever reached the limit."""
        with self._lock:
            now = self.clock()
            for key in attempt.keys:
                record = self._record(key, now)
                if len(record.failures) >= self.max_failures:
                    record.locked_until = now + self.lockout_s
                    record.failures.clear()

    def succeeded(self, attempt: Attempt) -> None:
        """Settle ``attempt`` as a success: take it back and forget the name's failures."""
        with self._lock:
            for key in attempt.keys:
                record = self._records.get(key)
                if record is None:
                    continue
                if key.startswith("name:"):
                    record.failures.clear()
                elif attempt.at in record.failures:
                    record.failures.remove(attempt.at)

    def __len__(self) -> int:
        """Return how many names and addresses it remembers."""
        return len(self._records)
