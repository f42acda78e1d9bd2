"""Fact extraction after a stage's commit: a bounded queue and one worker thread.

mem0's extraction is a model call plus its own searches and writes; inline, a
stage waits for it. Where the run's budget allows it (``graph/stage/recall.py``
decides), the stage hands the extraction to this queue and moves on. The queue
holds at most ``cap`` waiting extractions: when it is full, ``submit`` says so
and the stage extracts inline, so nothing is lost and nothing grows without
bound. ``close`` (when the factory closes its stores, before mem0's pool)
finishes what is queued within its time limit and drops the rest with a log
line.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Job = Callable[[], None]


class FactQueue:
    """At most ``cap`` extractions waiting, run one at a time by one daemon thread."""

    def __init__(self, cap: int) -> None:
        if cap < 1:
            raise ValueError("a fact queue holds at least one extraction")
        self.cap = cap
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=cap)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, job: Job) -> bool:
        """Queue ``job``; False when ``cap`` jobs already wait or the queue is closed."""
        with self._lock:
            if self._closed:
                return False
            try:
                self._jobs.put_nowait(job)
            except queue.Full:
                return False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="devfactory-facts", daemon=True
                )
                self._thread.start()
        return True

    def waiting(self) -> int:
        """Return how many jobs are queued or running."""
        return self._jobs.unfinished_tasks

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                job()
            except Exception:  # a job reports its own failures; this is the last resort
                log.exception("a fact extraction failed after its stage")
            finally:
                self._jobs.task_done()

    def close(self, timeout_s: float) -> int:
        """Finish the queued jobs within ``timeout_s``, drop the rest; return how many dropped."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is None:
            return 0
        deadline = time.monotonic() + timeout_s
        with self._jobs.all_tasks_done:
            while self._jobs.unfinished_tasks and (left := deadline - time.monotonic()) > 0:
                self._jobs.all_tasks_done.wait(left)
        dropped = 0
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
            dropped += 1
            self._jobs.task_done()
        running = self._jobs.unfinished_tasks
        if dropped or running:
            log.warning(
                "fact extraction at exit: %d queued dropped, %d running abandoned after %.0f s",
                dropped,
                running,
                timeout_s,
            )
        self._jobs.put_nowait(None)  # the worker stops once its current job ends
        return dropped + running
