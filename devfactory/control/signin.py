"""Sign-in throttling: too many wrong passwords lock the name and the address for a while.

Failures are counted per name (whether or not that name exists, so a lockout
says nothing about who exists) and per client address, in a sliding window.
When either reaches ``max_failures`` it is locked for ``lockout_s`` seconds.
An attempt is counted *before* its password is checked, so that many
concurrent guesses cannot all slip in before the first failure is recorded;
a successful sign-in takes its own attempt back and clears the name.

What bounds the counts is time and the address, never eviction: the address
is checked first, and a locked address is refused before the name it tries is
counted, so one address adds at most ``max_failures`` names per lockout; a
count goes only when it has expired (no failure in the window, no lock).
Dropping the oldest counts to make room would let a flood of made-up names
clear a real lock. The chat keeps the counts in Postgres (``store/signins.py``),
so a lockout also outlives a restart; ``MemoryCounts`` holds them in a process
(for tests, and for tools that have no database).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol


class LockedError(RuntimeError):
    """Too many recent failures for this name or address."""


@dataclass
class Counts:
    """One name's or address's recent failures (times) and how long it is locked."""

    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class CountStore(Protocol):
    """Where counts are kept: ``counts(keys)`` yields them locked and keeps the changes."""

    def counts(self, keys: Sequence[str]) -> AbstractContextManager[dict[str, Counts]]:
        """Yield the counts of ``keys`` (new ones empty), then keep what was changed."""
        ...

    def expire(self, now: float, window_s: float) -> int:
        """Forget the counts that expired; return how many."""
        ...


class MemoryCounts:
    """Counts in this process's memory (lost when it stops)."""

    def __init__(self) -> None:
        self._counts: dict[str, Counts] = {}
        self._lock = threading.Lock()

    @contextmanager
    def counts(self, keys: Sequence[str]) -> Iterator[dict[str, Counts]]:
        """Yield the counts of ``keys`` under this store's lock."""
        with self._lock:
            yield {k: self._counts.setdefault(k, Counts()) for k in keys}

    def expire(self, now: float, window_s: float) -> int:
        """Forget the counts with no failure in the window and no lock."""
        with self._lock:
            gone = [
                k
                for k, c in self._counts.items()
                if c.locked_until <= now and not any(now - t < window_s for t in c.failures)
            ]
            for key in gone:
                del self._counts[key]
        return len(gone)

    def __len__(self) -> int:
        """Return how many names and addresses it remembers."""
        return len(self._counts)


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
        store: where the counts are kept (default: this process's memory).
        clock: the time source, in seconds since the epoch (tests pass their own).

    """

    def __init__(
        self,
        *,
        max_failures: int,
        window_s: float,
        lockout_s: float,
        store: CountStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.store: CountStore = store if store is not None else MemoryCounts()
        self.clock = clock

    def _locked(self, counts: Counts, now: float) -> bool:
        counts.failures = [t for t in counts.failures if now - t < self.window_s]
        return counts.locked_until > now or len(counts.failures) >= self.max_failures

    def attempt(self, name: str, address: str) -> Attempt:
        """Count a try by ``name`` from ``address``; raise ``LockedError`` if either is locked."""
        now = self.clock()
        self.store.expire(now, self.window_s)
        where = f"addr:{address}"
        with self.store.counts([where]) as found:  # a locked address never adds a name
            if self._locked(found[where], now):
                raise LockedError("too many failed sign-ins; try again later")
        keys = (f"name:{name.lower()}", where)
        with self.store.counts(keys) as found:
            if any(self._locked(found[k], now) for k in keys):
                raise LockedError("too many failed sign-ins; try again later")
            for key in keys:
                found[key].failures.append(now)
        return Attempt(keys, now)

    def failed(self, attempt: Attempt) -> None:
        """Settle ``attempt`` as a failure: lock whatever reached the limit."""
        now = self.clock()
        with self.store.counts(attempt.keys) as found:
            for counts in found.values():
                self._locked(counts, now)
                if len(counts.failures) >= self.max_failures:
                    counts.locked_until = now + self.lockout_s
                    counts.failures.clear()

    def succeeded(self, attempt: Attempt) -> None:
        """Settle ``attempt`` as a success: take it back and forget the name's failures."""
        with self.store.counts(attempt.keys) as found:
            for key, counts in found.items():
                if key.startswith("name:"):
                    counts.failures.clear()
                elif attempt.at in counts.failures:
                    counts.failures.remove(attempt.at)
