"""Runs for the workers: submit a run to the queue, and drive one a worker claimed.

The queue itself is ``store/queue.py``; the workers that claim from it and the
watchdog are ``worker.py``; the drive is the ``RunDriver``'s, as for a run
started in the caller's own process.
"""

from __future__ import annotations

from pathlib import Path

from langgraph.types import Command

from devfactory.control.budget import Caps
from devfactory.driver import EventSink, RunDriver, StopCheck
from devfactory.intake import new_run
from devfactory.queries import Queries
from devfactory.reports import RunReport, checked_text, pending_of
from devfactory.settings import Settings
from devfactory.store.lease import new_driver
from devfactory.store.runs import RunRow, RunStateError
from devfactory.stores import Graphs, Stores


class QueuedRuns:
    """Submit runs to the workers, and drive the ones they claim from their inbox."""

    def __init__(
        self,
        settings: Settings,
        stores: Stores,
        graphs: Graphs,
        queries: Queries,
        driver: RunDriver,
    ) -> None:
        self.settings, self.stores, self.graphs = settings, stores, graphs
        self.queries, self.driver = queries, driver

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
        new = new_run(
            self.settings,
            requirement,
            pipeline=pipeline,
            project=project,
            caps=caps,
            out_dir=out_dir,
            run_id=run_id,
            unattended=unattended,
            owner=owner,
            project_caps=self.stores.caps.current(checked_text(project, "the project")),
        )
        hold = new_driver()
        self.stores.queue.submit(
            new.run_id,
            new.created.requirement,
            pipeline,
            str(new.out),
            project,
            owner,
            {"start": new.payload},
            hold=hold,
            lease_s=self.settings.run_lease_seconds,
        )
        # logged first, before any worker acts
        self.driver.log_created(self.queries.get(new.run_id), new.created, owner)
        self.stores.queue.publish(new.run_id, hold)
        return self.queries.get(new.run_id)

    def drive_claimed(
        self, row: RunRow, driver: str, *, on_event: EventSink | None = None, stop: StopCheck
    ) -> RunReport:
        """Drive a run a worker claimed from the queue (``RunQueue.claim``) with its inbox.

        The inbox is fed only where it still applies, so a run whose last drive
        died part way picks up exactly where its checkpoint stands: the first
        input only when there is no checkpoint yet, a person's answers only
        while the questions they answer are still pending.
        """
        snapshot = self.graphs.state(row.pipeline, row.run_id)
        inbox, payload = row.inbox or {}, None
        if snapshot.created_at is None:
            payload = inbox.get("start")
            if payload is None:
                raise RunStateError(f"run {row.run_id} has no checkpoint and no first input")
        elif answers := inbox.get("resume"):
            waiting = {p.interrupt_id for p in pending_of(row.run_id, snapshot)}
            if set(answers) <= waiting:
                payload = Command(resume=answers)
        return self.driver.drive(row, driver, payload, on_event, stop=stop)
