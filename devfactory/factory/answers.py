"""What people ask of runs: answers to pauses, cancellations, project pre-approvals, purges.

Every client (CLI, chat, API) answers through ``Answers`` (by way of
``Factory``), so a decision is checked and recorded the same way wherever it
was given; an answer given here is driven on by the ``RunDriver``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from langgraph.types import Command

from devfactory.control.budget import Caps
from devfactory.control.hitl import (
    POLICY_PREFIX,
    Decision,
    DecisionError,
    RoleRefusedError,
    check_decision,
)
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.control.policy import load_policy
from devfactory.control.unattended import PreApproval, check_pre_approver
from devfactory.events import PhaseChanged, RunFinished
from devfactory.factory.driver import EventSink, RunDriver
from devfactory.factory.recorder import once, phase_changed
from devfactory.factory.reports import (
    Pending,
    RunReport,
    checked_name,
    checked_text,
    choose_pending,
)
from devfactory.redact import redact
from devfactory.repos.git_credentials import forget
from devfactory.runfiles import read_file, remove_tree
from devfactory.store.approvals import ApprovalAction
from devfactory.store.lease import new_driver
from devfactory.store.runs_table import RunRow, RunStateError

ADMIN = "admin"  # the role that sets budgets per project


class Asked(TypedDict, total=False):
    """``Answers.check_answer``'s keywords beside the question's id, for those who pass them on."""

    kind: str | None
    by_policy: bool


class AnswerOptions(Asked, total=False):
    """``Answers.answer``'s keywords beside the question's id, for those who pass them on."""

    on_event: EventSink | None
    queue: bool


class Answers:
    """Answer, cancel, pre-approve and purge: what people may ask of runs."""

    def __init__(self, driver: RunDriver) -> None:
        """Answer through ``driver``, with its settings, stores, graphs and queries."""
        self.driver, self.settings, self.stores = driver, driver.settings, driver.stores
        self.graphs, self.queries = driver.graphs, driver.queries

    def check_answer(
        self,
        run_id: str,
        decision: Decision,
        *,
        interrupt_id: str,
        kind: str | None = None,
        by_policy: bool = False,
    ) -> list[Pending]:
        """Return the questions ``decision`` answers (``choose_pending`` picks them).

        Raises ``RunStateError`` when the run is not paused and ``DecisionError``
        when the decision may not answer the question.
        """
        row = self.queries.get(run_id)
        if decision.by.startswith(POLICY_PREFIX) and not by_policy:
            raise DecisionError(f"names starting with {POLICY_PREFIX!r} are the factory's own")
        if by_policy and not decision.by.startswith(POLICY_PREFIX):
            raise DecisionError(f"a policy's decision is signed {POLICY_PREFIX}<rule>")
        if row.status != Phase.PAUSED:
            raise RunStateError(f"run {run_id} is {row.shown_status}, not waiting for a person")
        chosen = choose_pending(
            run_id, self.queries.pending(run_id), interrupt_id=interrupt_id, kind=kind
        )
        for item in chosen:
            check_decision(item.pause, decision)
        return chosen

    def answer(
        self,
        run_id: str,
        decision: Decision,
        *,
        interrupt_id: str,
        kind: str | None = None,
        on_event: EventSink | None = None,
        queue: bool = False,
        by_policy: bool = False,
    ) -> RunReport:
        """Resume a paused run with a person's ``decision`` (checked by ``check_answer``).

        With ``queue`` the run goes back to the workers with the answer instead
        of being driven here (the API never drives runs itself).
        """
        row = self.queries.get(run_id)
        text = redact(checked_text(decision.text, "the answer", empty=True))
        decision = decision.model_copy(update={"text": text})
        chosen = self.check_answer(
            run_id, decision, interrupt_id=interrupt_id, kind=kind, by_policy=by_policy
        )
        snapshot = self.graphs.state(row.pipeline, run_id)
        phase = (snapshot.values or {}).get("phase", Phase.DRAFT)
        pause = chosen[0].pause
        actor, why = f"{decision.by} ({decision.role})", f"{pause.kind}: {decision.summary()}"
        key = once("resume", (p.interrupt_id for p in chosen))
        driver = None if queue else new_driver()
        value = decision.model_dump(mode="json")
        answers = {p.interrupt_id: value for p in chosen}
        moved = self.stores.runs.take_pause(
            run_id,
            [p.interrupt_id for p in chosen],
            driver=driver,
            lease_s=self.settings.runs.run_lease_seconds,
            key=key,
            to=phase,
            actor=actor,
            reason=why,
            inbox={"resume": answers},
        )
        self.driver.recorder(row, driver).answered(decision, chosen, key=key, moved=moved)
        resumed = PhaseChanged(from_phase="PAUSED", to_phase=phase, actor=actor, reason=why)
        if driver is None:
            self.stores.feed.append(run_id, resumed)
            return self.queries.report(run_id)
        return self.driver.drive(row, driver, Command(resume=answers), on_event, first=resumed)

    def approve_project(
        self, project: str, *, by: str, role: str, note: str = "", revoke: bool = False
    ) -> PreApproval:
        """Pre-approve ``project``'s unattended runs at their governance pause (or revoke it).

        Only a role that may approve a governance pause may (``DecisionError``
        otherwise). The record is appended to the audit log as ``project:<name>``'s
        ``pre_approval`` event, and every run it lets through records the policy's
        decision naming it.
        """
        project = checked_name(project, "the project")
        check_pre_approver(load_policy(self.settings.runs.policy_file), by, role)
        action: ApprovalAction = "revoke" if revoke else "approve"
        ident, kept = self.stores.approvals.add(project, action, by=by, role=role, note=note)
        body = {"id": ident, "action": action, **kept.model_dump(mode="json")}
        actor = f"{by} ({role})"
        self.stores.audit.append(
            f"project:{project}", "pre_approval", body, actor=actor, key=f"pre_approval:{ident}"
        )
        return kept

    def set_project_caps(
        self, project: str, caps: dict[str, Caps], *, by: str, role: str
    ) -> dict[str, Any]:
        """Set the budgets ``project``'s new runs get (``run`` and ``project`` caps).

        Only an admin may (``RoleRefusedError`` otherwise). The change is appended
        to the audit log as ``project:<name>``'s ``caps`` event, with who made it and
        what it was before; runs already started keep their caps.
        """
        project = checked_name(project, "the project")
        if role != ADMIN:
            raise RoleRefusedError(f"role {role!r} may not set a project's budgets; it needs admin")
        before = self.stores.caps.current(project)
        kept = {scope: c.model_dump() for scope, c in caps.items()}
        ident = self.stores.caps.add(project, kept, by=by, role=role)
        body = {"id": ident, "caps": kept, "before": before}
        self.stores.audit.append(
            f"project:{project}", "caps", body, actor=f"{by} ({role})", key=f"caps:{ident}"
        )
        return kept

    def cancel(self, run_id: str, *, by: str, role: str) -> RunRow:
        """Ask a run to stop: at once when nobody drives it, else at its driver's next step.

        Raises ``RunStateError`` when the run has already ended.
        """
        row = self.queries.get(run_id)
        if row.status in TERMINAL:
            raise RunStateError(f"run {run_id} already ended {row.status}")
        actor = f"{by} ({role})"
        row = self.stores.queue.request_cancel(run_id, actor) or row
        if row.driver_gone:
            self.end_idle(row, Phase.CANCELLED, actor=actor, reason=f"cancelled by {actor}")
        return self.queries.get(run_id)

    def end_idle(self, row: RunRow, to: Phase, *, actor: str, reason: str) -> bool:
        """End a run nobody drives (CANCELLED or FAILED): the move, its files, the feed.

        Returns False when a driver took the run meanwhile (it then stops at
        its next step and records the end itself) or the run had ended.
        """
        moved = self.stores.runs.end_idle(
            row.run_id, once(to.lower(), ()), to, actor=actor, reason=reason
        )
        if moved is None:
            return False
        recorder = self.driver.recorder(row)
        recorder.log_move(to.lower(), moved)
        self.stores.feed.append(row.run_id, phase_changed(moved))
        snapshot = self.graphs.state(row.pipeline, row.run_id)
        recorder.finish(to, reason, snapshot.values or {}, [])
        self.stores.feed.append(
            row.run_id, RunFinished(run_id=row.run_id, status=to, reason=reason)
        )
        return True

    def purge(self, run_id: str, *, by: str, role: str) -> dict[str, Any]:
        """Delete an archived run's checkpoints, live events and folder; keep its audit log.

        Only an admin may (``RoleRefusedError``), and only an archived run
        (``RunStateError``). The folder is deleted only when it holds this run's
        ``run.json`` (a folder someone reused is kept, and the record says so).
        The purge is appended to the run's audit log, which is never deleted.
        """
        if role != "admin":
            raise RoleRefusedError(f"role {role!r} may not purge a run; only an admin may")
        row = self.queries.get(run_id)
        if row.purged_at is not None:
            raise RunStateError(f"run {run_id} was purged already")
        if row.archived_at is None:
            raise RunStateError(f"run {run_id} is not archived (see retention_days)")
        folder = Path(row.out_dir)
        removed = _remove_run_folder(folder, run_id, self.settings.storage.run_file_max_bytes)
        forget(self.settings.storage.data_dir, run_id)  # a repository's credentials, for its push
        self.stores.checkpointer.delete_thread(run_id)
        self.stores.queue.mark_purged(run_id)
        record = {
            "checkpoints": "deleted",
            "live_events": "deleted",
            "folder": f"deleted {folder}" if removed else f"kept {folder}: {_KEPT}",
        }
        self.stores.audit.append(run_id, "purged", record, actor=f"{by} ({role})", key="purged")
        return record


_KEPT = "it does not hold this run's run.json"


def _remove_run_folder(folder: Path, run_id: str, limit: int) -> bool:
    """Delete ``folder`` if it is this run's folder (its run.json names the run).

    ``run.json`` is read through ``runfiles`` (a regular file reached without a
    link, at most ``limit`` bytes), and the folder is removed without following
    any link in it and without recursion, however deep the tree a run or a
    repository left. A folder that is itself a link is kept (``runfiles`` does
    not open it).
    """
    try:
        doc = json.loads(read_file(folder, "run.json", limit))
    except (OSError, ValueError):
        return False
    if not isinstance(doc, dict) or doc.get("run_id") != run_id:
        return False
    remove_tree(folder)
    return True
