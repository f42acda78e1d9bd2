"""Sign-in throttling: wrong passwords lock a name at an address, with a growing lock.

Failures are counted in a sliding window under three keys:

* the name at the address (``pair:``): ``max_failures`` lock that pair only, so
  one person's typos lock out neither the team behind the same address nor the
  same name elsewhere. Each lock lasts twice the one before (``lockout_s``,
  then twice that, ... up to ``max_lockout_s``), and the count of locks is
  forgotten once the pair has been quiet for ``max_lockout_s``;
* the address across names (``addr:``) and the name across addresses
  (``name:``): ``flood_failures`` (a higher cap) lock the whole address, or the
  name everywhere, for ``max_lockout_s``. That stops a flood of guesses from one
  address, or at one name from many.

Failures are counted whether or not the name exists, so a lock says nothing
about who exists. An attempt is counted *before* its password is checked, so
that many concurrent guesses cannot all slip in before the first failure is
recorded; a successful sign-in takes its own attempt back and clears the pair
and the name. A refusal says how long the lock still lasts (``LockedError``).

What bounds the counts is time and the address, never eviction: the address
is checked first, and a locked address is refused before the name it tries is
counted, so one address adds at most ``flood_failures`` names per lock; a
count goes only when it has expired (no failure in the window, no lock, and
quiet for ``max_lockout_s``); attempts clear the expired counts at most once a
second (``EXPIRE_EVERY_S``), since that scans them all. Dropping the oldest
counts to make room would let a flood of made-up names clear a real lock. The
chat and the console keep the counts in Postgres (``store/signins.py``), so a
lock also outlives a restart;
``MemoryCounts`` holds them in a process (for tests, and for tools that have no
database). ``devfactory users unlock NAME`` clears a name's locks.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Final, Protocol

PAIR, NAME, ADDRESS = "pair:", "name:", "addr:"
EXPIRE_EVERY_S: Final = 1.0
"""How often, at most, an attempt clears the expired counts (a scan of every count)."""


def how_long(seconds: float) -> str:
    """Say a wait in words, rounded up: "40 seconds", "3 minutes", "2 hours"."""
    left = max(1, math.ceil(seconds))
    if left < 60:
        return f"{left} second{'s' if left != 1 else ''}"
    if left <= 3600:
        minutes = math.ceil(left / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(left / 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


class LockedError(RuntimeError):
    """Too many recent failures for this name at this address, this address or this name.

    ``retry_after_s``: how long the lock still lasts, in seconds.
    """

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1.0, math.ceil(retry_after_s))
        super().__init__(f"too many failed sign-ins; try again in {how_long(self.retry_after_s)}")


@dataclass
class Counts:
    """One key's recent failures (times), how long it is locked, and how many locks it had."""

    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    strikes: int = 0


class CountStore(Protocol):
    """Where counts are kept: ``counts(keys)`` yields them locked and keeps the changes."""

    def counts(self, keys: Sequence[str]) -> AbstractContextManager[dict[str, Counts]]:
        """Yield the counts of ``keys`` (new ones empty), then keep what was changed."""
        ...

    def expire(self, now: float, window_s: float, quiet_s: float) -> int:
        """Forget the counts that expired; return how many.

        A count expires with no failure in ``window_s``, and no lock for ``quiet_s``.
        """
        ...

    def forget(self, keys: Sequence[str], prefixes: Sequence[str]) -> int:
        """Forget ``keys`` and every key that starts with one of ``prefixes``; return how many."""
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

    def expire(self, now: float, window_s: float, quiet_s: float) -> int:
        """Forget the counts with no failure in the window and no lock for ``quiet_s``."""
        with self._lock:
            gone = [
                k
                for k, c in self._counts.items()
                if c.locked_until + quiet_s <= now
                and not any(now - t < window_s for t in c.failures)
            ]
            for key in gone:
                del self._counts[key]
        return len(gone)

    def forget(self, keys: Sequence[str], prefixes: Sequence[str]) -> int:
        """Forget ``keys`` and the keys under ``prefixes``."""
        with self._lock:
            gone = [k for k in self._counts if k in keys or k.startswith(tuple(prefixes))]
            for key in gone:
                del self._counts[key]
        return len(gone)

    def __len__(self) -> int:
        """Return how many keys it remembers."""
        return len(self._counts)


@dataclass(frozen=True)
class Attempt:
    """One counted sign-in attempt (what ``succeeded``/``failed`` settle)."""

    keys: tuple[str, ...]
    at: float


def pair_key(name: str, address: str) -> str:
    """Return the key of ``name`` signing in from ``address``."""
    return f"{PAIR}{name.lower()}|{address}"


class SignInThrottle:
    """Count sign-in failures per name at an address, per address and per name; lock on too many.

    Args:
        max_failures: failures of one name at one address in ``window_s`` that lock that pair.
        flood_failures: failures from one address (any names), or at one name (any
            addresses), in ``window_s`` that lock the address, or the name.
        window_s: the sliding window failures are counted in.
        lockout_s: how long a pair's first lock lasts; each next one lasts twice as long.
        max_lockout_s: the longest lock (a flood's lock lasts this long).
        store: where the counts are kept (default: this process's memory).
        clock: the time source, in seconds since the epoch (tests pass their own).

    """

    def __init__(
        self,
        *,
        max_failures: int,
        flood_failures: int,
        window_s: float,
        lockout_s: float,
        max_lockout_s: float,
        store: CountStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_failures = max_failures
        self.flood_failures = flood_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_lockout_s = max(max_lockout_s, lockout_s)
        self.store: CountStore = store if store is not None else MemoryCounts()
        self.clock = clock
        self._expired_at = float("-inf")

    def _limit(self, key: str) -> int:
        return self.max_failures if key.startswith(PAIR) else self.flood_failures

    def _wait(self, key: str, counts: Counts, now: float) -> float:
        """Return how long ``key`` is locked from ``now`` (0: not locked)."""
        counts.failures = [t for t in counts.failures if now - t < self.window_s]
        if counts.locked_until > now:
            return counts.locked_until - now
        if len(counts.failures) >= self._limit(key):  # guesses in flight reached it
            return self._lock_for(key, counts)
        return 0.0

    def _lock_for(self, key: str, counts: Counts) -> float:
        """Return how long ``key``'s next lock lasts: doubling for a pair, the longest for more."""
        if not key.startswith(PAIR):
            return self.max_lockout_s
        return min(self.lockout_s * 2 ** min(counts.strikes, 32), self.max_lockout_s)

    def attempt(self, name: str, address: str) -> Attempt:
        """Count a try by ``name`` from ``address``; raise ``LockedError`` if any key is locked."""
        now = self.clock()
        if now - self._expired_at >= EXPIRE_EVERY_S:
            self._expired_at = now
            self.store.expire(now, self.window_s, self.max_lockout_s)
        where = f"{ADDRESS}{address}"
        with self.store.counts([where]) as found:  # a locked address never adds a name
            wait = self._wait(where, found[where], now)
        if wait:
            raise LockedError(wait)
        keys = (pair_key(name, address), f"{NAME}{name.lower()}", where)
        with self.store.counts(keys) as found:
            wait = max(self._wait(k, found[k], now) for k in keys)
            if not wait:
                for key in keys:
                    found[key].failures.append(now)
        if wait:
            raise LockedError(wait)
        return Attempt(keys, now)

    def failed(self, attempt: Attempt) -> None:
        """Settle ``attempt`` as a failure: lock whatever reached its limit."""
        now = self.clock()
        with self.store.counts(attempt.keys) as found:
            for key, counts in found.items():
                counts.failures = [t for t in counts.failures if now - t < self.window_s]
                if len(counts.failures) >= self._limit(key):
                    counts.locked_until = now + self._lock_for(key, counts)
                    counts.strikes += 1
                    counts.failures.clear()

    def succeeded(self, attempt: Attempt) -> None:
        """Settle ``attempt`` as a success: take it back, forget the pair's and the name's count."""
        with self.store.counts(attempt.keys) as found:
            for key, counts in found.items():
                if key.startswith((PAIR, NAME)):
                    counts.failures.clear()
                    counts.strikes = 0
                elif attempt.at in counts.failures:
                    counts.failures.remove(attempt.at)

    def unlock(self, name: str, address: str | None = None) -> int:
        """Clear ``name``'s locks and counts, at every address (and ``address``'s, if given).

        Returns how many keys were cleared.
        """
        low = name.lower()
        keys = [f"{NAME}{low}"] + ([f"{ADDRESS}{address}"] if address else [])
        return self.store.forget(keys, [f"{PAIR}{low}|"])
