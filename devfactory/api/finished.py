"""Finished runs' details, rendered once per API process and dropped when their run changes.

``GET /runs/{id}`` of a finished run (COMPLETED, REJECTED, FAILED, CANCELLED) is
the API's most repeated read: a console or a script reads a run again and again, and
a run stays finished. Rendering it costs a query and three times the framework's own work per
request (``docs/performance.md``), so each API process keeps the rendered JSON of
the finished runs it was asked for, with their owner (each request is still
checked against the caller's role and the policy), and serves it with no query.

The database says when to forget one: every write of a run's row, its view or its
transitions is announced on ``store.runs_table.CHANGED_CHANNEL`` when it commits (a
trigger, ``store/schema.sql``, so every writer is heard: a worker, the CLI, a
retention job, plain SQL), and the process's one LISTEN connection
(``api.live_events.Listener``) drops that run. Nothing is kept or served while that
connection is down; what was kept is forgotten when it is lost and when it is
back. A rendering read while a change was heard is not kept (the ``epoch``). A
change made in another process is seen here once its notification arrives (the
same machine: milliseconds); one made by this process is dropped at once.
``api_finished_runs_kept`` bounds the entries and ``api_finished_run_kept_s``
their age, should a notification ever go unheard.

Running runs are never kept: they change at every step, and what they show
depends on the clock (a driver's lease).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rendered:
    """A run's detail as ``GET /runs/{id}`` sends it, with what decides who may see it."""

    run_id: str
    owner: str
    body: bytes
    finished: bool


class FinishedRuns:
    """The finished runs' details this process rendered, forgotten when the database says so.

    Thread-safe: routes read it on the event loop, the listener and the routes that
    change runs drop entries from wherever they run.
    """

    def __init__(
        self, capacity: int, max_age_s: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.max_age_s = max_age_s
        self._now = now
        self._kept: OrderedDict[str, tuple[float, Rendered]] = OrderedDict()
        self._lock = threading.Lock()
        self._epoch = 0
        self._live = False

    @property
    def epoch(self) -> int:
        """A count that moves with every change heard, and every loss or return of the listener."""
        return self._epoch

    @property
    def live(self) -> bool:
        """Whether changes are heard now (only then is anything kept or served)."""
        return self._live

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, run_id: str) -> Rendered | None:
        """Return the run's kept detail, or None (not kept, too old, or changes unheard now)."""
        with self._lock:
            if not self._live:
                return None
            found = self._kept.get(run_id)
            if found is None:
                return None
            if self._now() - found[0] > self.max_age_s:
                del self._kept[run_id]
                return None
            self._kept.move_to_end(run_id)
            return found[1]

    def keep(self, rendered: Rendered, since: int) -> bool:
        """Keep a finished run's detail rendered from a read begun at epoch ``since``.

        Refused (False) when the run was not finished, when changes are not heard,
        or when any change was heard since the read began (it may predate it). The
        least recently read entry goes when ``capacity`` is reached.
        """
        with self._lock:
            if not (rendered.finished and self._live and since == self._epoch and self.capacity):
                return False
            self._kept[rendered.run_id] = (self._now(), rendered)
            self._kept.move_to_end(rendered.run_id)
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
            return True

    def changed(self, run_id: str) -> None:
        """Forget ``run_id`` (``""``: every run, as a TRUNCATE announces)."""
        with self._lock:
            self._epoch += 1
            if run_id:
                self._kept.pop(run_id, None)
            else:
                self._kept.clear()

    def hearing(self, live: bool) -> None:
        """Say whether the listener hears changes now; either way, forget everything kept."""
        with self._lock:
            self._epoch += 1
            self._live = live
            self._kept.clear()
