"""Runs for the workers: submit a run to the queue, and drive one a worker claimed.

The queue itself is ``store/queue.py``; the workers that claim from it and the
watchdog are ``worker.py``; the drive is the ``RunDriver``'s, as for a run
started in the caller's own process.

A run that delivers into a repository is submitted with a clone order in its
inbox and nothing cloned (``intake.check_clone``: no network in a request). The
worker that claims it clones before the first step, holding one of the
``repo_max_clones`` slots (``store/slots.py``) and the run's lease: with every
slot taken it hands the run back to the queue for ``repo_clone_retry_s`` and
goes on with other runs. A clone that fails ends the run FAILED before any
team worked, with a reason that names no detail; the run's events and audit
log say why in words that never quote the remote host (``RepositoryError``'s
message), and the worker's log has git's own account.

A run's inbox holds JSON: its request (``intake.RunRequest``) and clone order as
their dumps, read back once here; an inbox that does not read as them (written by
hand, or by a version that kept other fields) ends the run FAILED with the reason,
before any team worked, instead of stopping the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from langgraph.types import Command
from pydantic import ValidationError

from devfactory.control.lifecycle import Phase
from devfactory.events import Event, Notice, PhaseChanged, RunFinished
from devfactory.factory.driver import EventSink, RunDriver, StopCheck
from devfactory.factory.intake import (
    CloneOrder,
    RunRequest,
    StartRequest,
    clone_into_run,
    new_run,
    repository_state,
)
from devfactory.factory.reports import RunReport, checked_text, pending_of
from devfactory.repos.repository import RepositoryError
from devfactory.store.lease import Lease, new_driver
from devfactory.store.runs_table import RunRow, RunStateError
from devfactory.store.slots import Slots

log = logging.getLogger(__name__)

CLONE_SLOTS = "devfactory:clones"  # hashed into the slots' advisory lock key
CLONE_FAILED = "the repository could not be cloned; the run's events say why"
BAD_INBOX = "the run's queued input could not be read; the run's events say why"


class QueuedRuns:
    """Submit runs to the workers, and drive the ones they claim from their inbox."""

    def __init__(self, driver: RunDriver) -> None:
        """Drive through ``driver``, with its settings, stores, graphs and queries."""
        self.driver, self.settings, self.stores = driver, driver.settings, driver.stores
        self.graphs, self.queries = driver.graphs, driver.queries
        conninfo = self.stores.pool.conninfo  # the pool's: a string, or what makes one
        self.clones = Slots(
            conninfo if isinstance(conninfo, str) else conninfo(),
            CLONE_SLOTS,
            self.settings.repos.repo_max_clones,
            connect_timeout=self.settings.storage.database_connect_timeout_s,
        )

    def submit(self, asked: StartRequest, *, clone: CloneOrder | None = None) -> RunRow:
        """Create a run and queue it for a worker (``devfactory worker``); return its row.

        ``clone``: the repository the worker clones into the run's folder first
        (``asked.repo`` checked by the caller: ``Factory.submit``).
        """
        project = checked_text(asked.project, "the project")
        new = new_run(
            self.settings, asked, project_caps=self.stores.caps.current(project), clone=clone
        )
        hold = new_driver()
        inbox = {"start": new.request.model_dump(mode="json")}
        if clone is not None:
            inbox["clone"] = clone.model_dump(mode="json")
        self.stores.queue.submit(
            *new.columns(), inbox, hold=hold, lease_s=self.settings.runs.run_lease_seconds
        )
        # logged first, before any worker acts
        self.driver.log_created(self.queries.get(new.run_id), new.created, new.request.owner)
        self.stores.queue.publish(new.run_id, hold)
        return self.queries.get(new.run_id)

    def drive_claimed(
        self, row: RunRow, driver: str, *, on_event: EventSink | None = None, stop: StopCheck
    ) -> RunReport:
        """Drive a run a worker claimed from the queue (``RunQueue.claim``) with its inbox.

        The inbox is fed only where it still applies, so a run whose last drive
        died part way picks up exactly where its checkpoint stands: the first
        input only when there is no checkpoint yet (after cloning the run's
        repository, when its inbox orders a clone), a person's answers only
        while the questions they answer are still pending.
        """
        snapshot = self.graphs.state(row.pipeline, row.run_id)
        inbox = row.inbox or {}
        payload: RunRequest | Command | None = None
        if snapshot.created_at is None:
            payload = self._first_input(row, driver, inbox, on_event)
            if payload is None:  # it failed, waits for a slot or is held: nothing to drive
                return self.queries.report(row.run_id)
        elif answers := inbox.get("resume"):
            waiting = {p.interrupt_id for p in pending_of(row.run_id, snapshot)}
            if set(answers) <= waiting:
                payload = Command(resume=answers)
        return self.driver.drive(row, driver, payload, on_event, stop=stop)

    def _first_input(
        self,
        row: RunRow,
        driver: str,
        inbox: Mapping[str, object],
        on_event: EventSink | None,
    ) -> RunRequest | None:
        """Read a queued run's request from its inbox; clone its repository first where ordered.

        None when the run does not go on now: its inbox does not read as a request
        (and a clone order), so it ended FAILED saying which fields are wrong, or
        its clone does not go on now (``_clone``).
        """
        if inbox.get("start") is None:
            raise RunStateError(f"run {row.run_id} has no checkpoint and no first input")
        try:
            request = RunRequest.model_validate(inbox["start"])
            order = inbox.get("clone")
            clone = None if order is None else CloneOrder.model_validate(order)
        except ValidationError as exc:
            notice = Notice(kind="bad_input", team="factory", message=_invalid(exc))
            self._failed(row, driver, notice, BAD_INBOX, on_event)
            return None
        return request if clone is None else self._clone(row, driver, request, clone, on_event)

    def _clone(
        self,
        row: RunRow,
        driver: str,
        request: RunRequest,
        order: CloneOrder,
        on_event: EventSink | None,
    ) -> RunRequest | None:
        """Clone the run's repository into its folder; return the run's request with it.

        None when the run does not go on now: the operator holds it, every clone
        slot is taken (both: back to the queue), or the clone failed (the run
        ended FAILED).
        """
        run_id = row.run_id
        held = self.driver.switchboard.halt(row.project)
        if held:  # no clone while the emergency stop or its project's hold holds
            self.stores.queue.requeue_mine(run_id, driver)
            log.info("run %s: %s; not cloned", run_id, held, extra={"run_id": run_id})
            return None
        lease_s = self.settings.runs.run_lease_seconds
        with self.clones.hold() as slot:
            if slot is None:  # said in the log only: a retry every few seconds is no event
                wait = self.settings.repos.repo_clone_retry_s
                self.stores.queue.requeue_mine(run_id, driver, wait_s=wait)
                log.info(
                    "run %s: every clone slot is taken (repo_max_clones=%d); back in the queue "
                    "for %g s",
                    run_id, self.clones.count, wait, extra={"run_id": run_id},
                )  # fmt: skip
                return None
            out = Path(row.out_dir)
            try:
                with Lease(self.stores.runs, run_id, driver, lease_s):
                    delivery = clone_into_run(self.settings, order, run_id, out)
                    state = repository_state(self.settings, delivery, out)
            except RepositoryError as exc:
                log.warning(
                    "run %s: the clone failed: %s", run_id, exc.told(), extra={"run_id": run_id}
                )
                notice = Notice(kind="clone_failed", team="factory", message=str(exc)[:1000])
                self._failed(row, driver, notice, CLONE_FAILED, on_event)
                return None
        cloned = request.model_copy(update={"repository": state})
        self.stores.queue.cloned(run_id, driver, cloned.model_dump(mode="json"))
        said = (
            f"cloned {delivery.source} ({delivery.base} at {delivery.base_commit[:12]}); "
            f"the run works on {delivery.branch}"
        )
        self._show(row, Notice(kind="repository_cloned", team="factory", message=said), on_event)
        return cloned

    def _failed(
        self, row: RunRow, driver: str, notice: Notice, reason: str, on_event: EventSink | None
    ) -> None:
        """End a run before its first step: FAILED for ``reason``, ``notice`` saying why."""
        run_id = row.run_id
        recorder = self.driver.recorder(row, driver)
        self._show(row, notice, on_event)
        # the move is recorded by finish once the run's files are written, as for any run
        recorder.stop({}, [], reason)
        recorder.finish(Phase.FAILED, reason, {}, [])
        moved = PhaseChanged(
            from_phase=Phase(row.status).value,
            to_phase=Phase.FAILED.value,
            actor="factory",
            reason=reason,
        )
        self._show(row, moved, on_event)
        ended = RunFinished(run_id=run_id, status=Phase.FAILED, reason=reason)
        self._show(row, ended, on_event)

    def _show(self, row: RunRow, event: Event, on_event: EventSink | None) -> None:
        """Publish a clone's event to the run's feed and the caller; a notice to its audit log.

        A move is in the audit log already (``RunRecorder.move``), and how the run
        ended is its transition and its files.
        """
        if isinstance(event, Notice):
            self.driver.recorder(row).log(event, actor="factory")
        self.stores.feed.append(row.run_id, event)
        if on_event is not None:
            on_event(event)


def _invalid(exc: ValidationError) -> str:
    """Say which fields of a queued input are wrong and how, quoting none of their values."""
    wrong = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'the input'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    )
    return f"the run's queued input is not valid ({wrong})"[:1000]
