"""Hold a run's lease while driving it: renew it in the background, release it at the end."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from types import TracebackType

from devfactory.store.runs_table import RunStore

log = logging.getLogger(__name__)


def new_driver() -> str:
    """Name a fresh driver: this host and process, and a token unique to this drive."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


class Lease:
    """Renew ``driver``'s lease on a run every third of its length until the block ends.

    Renewing stops when the run is no longer this driver's (its lease ran out
    and another process claimed it); ``lost`` says so. The block's owner
    releases the run (with where it stopped) itself.
    """

    def __init__(self, runs: RunStore, run_id: str, driver: str, seconds: float) -> None:
        self.runs, self.run_id, self.driver, self.seconds = runs, run_id, driver, seconds
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{run_id}", daemon=True)

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not self.runs.renew(self.run_id, self.driver, self.seconds):
                    self.lost = True
                    log.warning("run %s: lease lost; another process drives it", self.run_id)
                    return
            except Exception as exc:  # noqa: BLE001 - a missed renewal is retried next tick
                log.warning("run %s: could not renew the lease: %s", self.run_id, exc)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
