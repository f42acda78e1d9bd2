"""Runs for the workers: submit a run to the queue, and drive one a worker claimed.

``Queueing`` is mixed into ``Factory`` (``runner.py``), which provides the
stores and the drive. The queue itself is ``store/queue.py``; the workers
that claim from it and the watchdog are ``worker.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.types import Command

from devfactory.control.budget import Caps
from devfactory.events import Event, RunCreated
from devfactory.queries import Queries
from devfactory.reports import RunReport, pending_of
from devfactory.settings import Settings
from devfactory.store.lease import new_driver
from devfactory.store.queue import RunQueue
from devfactory.store.runs import RunRow, RunStateError

EventSink = Callable[[Event], None]
# Asked at every step boundary of a drive: why to stop now ("" to go on). A worker
# that is shutting down says so, and hands the run back to the queue.
StopCheck = Callable[[], str]


class Queueing(Queries):
    """Submit runs to the workers and drive claimed ones; the factory provides the rest."""

    queue: RunQueue
    settings: Settings

    def _new_run(
        self,
        requirement: str,
        pipeline: str,
        project: str,
        caps: Caps | None,
        out_dir: Path | None,
        run_id: str | None,
        unattended: bool | None,
        owner: str,
    ) -> tuple[RunCreated, dict[str, Any], Path]:
        raise NotImplementedError

    def _log_created(self, row: RunRow, created: RunCreated, owner: str) -> None:
        raise NotImplementedError

    def _drive(
        self,
        row: RunRow,
        driver: str,
        payload: Any,
        on_event: EventSink | None,
        first: Event | None = None,
        stop: StopCheck | None = None,
    ) -> RunReport:
        raise NotImplementedError

    def submit(
        self,
        requirement: str,
        *,
        pipeline: str = "mvp",
        project: str = "default",
        caps: Caps | None = None,
        out_dir: Path | None = None,
        run_id: str | None = None,
        owner: str = "",
        unattended: bool | None = None,
    ) -> RunRow:
        """Create a run and queue it for a worker (``devfactory worker``); return its row."""
        created, payload, out = self._new_run(
            requirement, pipeline, project, caps, out_dir, run_id, unattended, owner
        )
        run_id, hold = payload["run_id"], new_driver()
        self.queue.submit(
            run_id,
            created.requirement,
            pipeline,
            str(out),
            project,
            owner,
            {"start": payload},
            hold=hold,
            lease_s=self.settings.run_lease_seconds,
        )
        self._log_created(self.get(run_id), created, owner)  # first, before any worker acts
        self.queue.publish(run_id, hold)
        return self.get(run_id)

    def drive_claimed(
        self, row: RunRow, driver: str, *, on_event: EventSink | None = None, stop: StopCheck
    ) -> RunReport:
        """Drive a run a worker claimed from the queue (``RunQueue.claim``) with its inbox.

        The inbox is fed only where it still applies, so a run whose last drive
        died part way picks up exactly where its checkpoint stands: the first
        input only when there is no checkpoint yet, a person's answers only
        while the questions they answer are still pending.
        """
        snapshot = self.graph(row.pipeline).get_state(self._config(row.run_id))
        inbox, payload = row.inbox or {}, None
        if snapshot.created_at is None:
            payload = inbox.get("start")
            if payload is None:
                raise RunStateError(f"run {row.run_id} has no checkpoint and no first input")
        elif answers := inbox.get("resume"):
            waiting = {p.interrupt_id for p in pending_of(row.run_id, snapshot)}
            if set(answers) <= waiting:
                payload = Command(resume=answers)
        return self._drive(row, driver, payload, on_event, stop=stop)
