"""A password hasher whose checks wait until a test lets them go, and say where they ran.

The sign-in flood tests (issue 58 item 8) hold every password check in flight, so
that what a server does with the sign-ins past its cap, and with its other
requests meanwhile, is seen without any timing: the checks end only when the
test says so.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher


class HeldHasher(PasswordHasher):
    """A cheap Argon2id hasher whose ``verify`` waits for ``go``; it counts checks at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.go = threading.Event()
        self.entered = threading.Semaphore(0)
        self.threads: list[str] = []
        self.at_once = 0
        self.most = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        """Check as Argon2id does, once the test sets ``go``."""
        with self._lock:
            self.threads.append(threading.current_thread().name)
            self.at_once += 1
            self.most = max(self.most, self.at_once)
        self.entered.release()
        try:
            if not self.go.wait(60):
                raise TimeoutError("the test never let the password check go")
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.at_once -= 1

    def wait_entered(self, count: int, timeout: float = 60) -> None:
        """Wait until ``count`` checks have started (however late a loaded machine starts them)."""
        for _ in range(count):
            if not self.entered.acquire(timeout=timeout):
                raise TimeoutError(f"fewer than {count} password checks started")
