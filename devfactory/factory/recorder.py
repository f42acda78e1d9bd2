"""Record what happens in a run: each event type mapped to the handlers that keep it.

Every event a node emits reaches ``RunRecorder.record`` from inside the node,
before LangGraph saves the node's writes (``graph/emit.py``): a lifecycle
move goes to the runs table and the audit log; a finished stage's files go
to the run's folder (a git repository: a passed stage's files are one commit
by its team; the build loop's better versions of a module are written there
as they come, uncommitted) and its TaskResult and usage to the audit log; governance,
clarifications, notices, policy decisions and fact extractions go to the
audit log. After every step of the graph ``progress`` keeps the shown part of its
state in the run's view (``store/views.py``), which its readers read instead of
the checkpoint. When a drive stops, ``finish`` writes ``run.json`` and
``SUMMARY.md`` (committed as the run summary), releases the run and, when the
run has ended, retains its outcome in memory. The incident triggers
(``incident_watch.IncidentWatch``) weigh each finished stage and the run's end as
they are recorded. A move to an ending phase
(COMPLETED, FAILED, REJECTED) is recorded by ``finish`` after the files: a
client that sees a run ended finds every file it wrote. ``handlers`` names every kind
of event, with no handler for a kind the recorder does not keep.

Why one module: it is the one table from event kinds to where each is kept, and
the handlers share one run's state (its pending end, its folder's repository,
what its view last showed); split by destination, the order between them (the
record before the files, the files before the end) would be nobody's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from devfactory import events
from devfactory.contracts import StageRecord, ordered_records
from devfactory.control.budget import Spend
from devfactory.control.hitl import Decision
from devfactory.control.lifecycle import TERMINAL, IllegalTransitionError, Phase, Transition
from devfactory.factory.artifacts import (
    SUMMARY_COMMIT,
    commit_message,
    published_paths,
    write_draft,
    write_run_files,
    write_stage_artifacts,
)
from devfactory.factory.findings import instructions_of
from devfactory.factory.incident_watch import IncidentWatch
from devfactory.factory.reports import Pending
from devfactory.graph.oversight.metering import spend_by_team, spend_by_team_and_model
from devfactory.graph.state import final_checks_of, outcome_of
from devfactory.memory.audit import AuditLog
from devfactory.memory.service import MemoryService
from devfactory.pipelines import load_pipeline
from devfactory.repos.workspace import Workspace, WorkspaceError
from devfactory.runfiles import read_file
from devfactory.software.plan import PLAN_PATH, BuildPlan, delivered_paths, find_plan, read_plan
from devfactory.store.runs_table import RunRow, RunStore
from devfactory.store.views import RunView, shown
from devfactory.teams import load_teams

log = logging.getLogger(__name__)
Handler = Callable[[Any], None]


def asked(pending: Sequence[Pending]) -> list[dict[str, Any]]:
    """Describe the questions a run waits on as its view keeps them."""
    return [{"id": p.interrupt_id, "pause": p.pause.model_dump(mode="json")} for p in pending]


def once(kind: str, ids: Iterable[str]) -> str:
    """Key a transition the runner itself records: unique to this drive.

    A pause the process died in is recorded again when the run is resumed, so
    these keys are not replay-stable (node transitions are).
    """
    return f"{kind}:{','.join(sorted(ids))}:{time.time_ns()}"


def phase_changed(moved: Transition) -> events.PhaseChanged:
    """Describe a move the runs table recorded as the event that shows it."""
    return events.PhaseChanged(
        from_phase=moved.from_phase.value,
        to_phase=moved.to_phase.value,
        actor=moved.actor,
        reason=moved.reason,
    )


PLAN_BYTES = 1 << 20  # the most of a build plan read back from the run's folder


class RunRecorder:
    """Keep one run's events: runs table, audit log, artifacts and, at the end, memory.

    Args:
        runs: the runs table.
        audit: the audit log.
        row: the run being driven.
        memory: where a finished run's outcome is retained (None: memory is off).
        driver: who drives the run now (its lease is released when the drive stops).
        watch: the incident triggers fed with each finished stage and the run's end
            (None: no incidents).

    """

    def __init__(
        self,
        runs: RunStore,
        audit: AuditLog,
        row: RunRow,
        memory: MemoryService | None,
        driver: str | None = None,
        watch: IncidentWatch | None = None,
    ) -> None:
        self.runs, self.audit, self.row, self.memory = runs, audit, row, memory
        self.driver, self.watch = driver, watch
        self.out_dir = Path(row.out_dir)
        self._git: Workspace | None = None  # the run folder's repository, made on first write
        self._git_failed = False
        self._ending: tuple[str, Phase, str, str] | None = None  # key, phase, actor, reason
        self._shown: dict[str, Any] | None = None  # what the run's view shows, as last kept
        self._next: list[str] = []  # the nodes of the graph's step under way
        self._stepped = True  # a step ended since the last node started
        self.handlers: dict[type[events.Event], tuple[Handler, ...]] = {
            events.PhaseChanged: (self._move,),
            # the record first; then the files, committed when the stage passed; last,
            # what it means for the project (an incident's trigger)
            events.StageFinished: (
                self._audit_stage,
                self._write_files,
                self._commit_stage,
                self._watch_stage,
            ),
            events.DraftSaved: (
                self._write_draft,
            ),  # uncommitted: the stage's end commits its files
            events.GovernanceAssessed: (self._audit,),
            events.ClarificationRouted: (self._audit,),
            events.Notice: (self._audit,),
            events.FactsExtracted: (self._audit,),
            events.DecisionRecorded: (self._decided,),  # a policy rule answered a pause in a node
            # kept nowhere by this table: progress that is only shown,
            events.StageStarted: (),
            events.Recalled: (),
            # what the driver keeps itself (the creation, at once) or only shows,
            events.RunCreated: (),
            events.RunStarted: (),
            events.RunFinished: (),
            events.RunError: (),
            # and what _audit_stage makes of a StageFinished
            events.TaskResultRecorded: (),
            events.UsageRecorded: (),
        }

    def record(self, event: events.Event) -> None:
        """Keep ``event`` wherever its type says (no handler: it is only shown)."""
        for handle in self.handlers[type(event)]:
            handle(event)

    def progress(self, values: Mapping[str, Any]) -> None:
        """Keep the shown part of the run's state after a step of its graph (when it changed)."""
        self._stepped = True
        now = shown(values)
        if now != self._shown:
            self.runs.views.show(self.row.run_id, now)
            self._shown = now

    def started(self, node: str) -> None:
        """Keep a node of the graph's step under way as the run's next (where a resume starts)."""
        if self._stepped:
            self._next, self._stepped = [], False
        self._next.append(node)
        self.runs.views.next(self.row.run_id, self._next)

    def move(self, key: str, to: Phase | str, *, actor: str, reason: str) -> Transition | None:
        """Record a lifecycle move in the runs table and the audit log (once per ``key``)."""
        moved = self.runs.transition(self.row.run_id, key, to, actor=actor, reason=reason)
        if moved is not None:
            self.log_move(key, moved)
        return moved

    def log_move(self, key: str, moved: Transition) -> None:
        """Append a move the runs table recorded to the audit log."""
        changed = phase_changed(moved)
        self.log(changed, actor=moved.actor, key=f"transition:{key}", exclude={"key", "actor"})

    def answered(
        self, decision: Decision, chosen: Sequence[Pending], *, key: str, moved: Transition
    ) -> None:
        """Record a person's answer to a pause, and the move back from PAUSED it made."""
        pause = chosen[0].pause
        decided = events.DecisionRecorded(
            pause=pause.kind,
            team=pause.team,
            question=pause.title,
            interrupts=[p.interrupt_id for p in chosen],
            **decision.model_dump(mode="json"),
        )
        self.log(decided, actor=moved.actor, key=f"decision:{key}")
        self.log_move(key, moved)

    def log(
        self, event: events.Event, *, actor: str, key: str = "", exclude: set[str] | None = None
    ) -> None:
        """Append ``event`` to the audit log under its kind (``key`` keeps it once)."""
        body = event.model_dump(mode="json", exclude={"event", *(exclude or ())})
        self.audit.append(self.row.run_id, event.event, body, actor=actor, key=key)

    def _move(self, event: events.PhaseChanged) -> None:
        if Phase(event.to_phase) in TERMINAL:  # recorded by finish, once the files are written
            self._ending = (event.key, Phase(event.to_phase), event.actor, event.reason)
            return
        self.move(event.key, event.to_phase, actor=event.actor, reason=event.reason)

    def _end(self) -> None:
        """Record the move to the phase the run ended in, unless the runs table has it."""
        if self._ending is None:
            return
        key, status, actor, reason = self._ending
        current = self.runs.get(self.row.run_id)
        if current is None or current.status == status:
            return  # e.g. a run resumed after the move, whose files were not all written
        try:
            self.move(key, status, actor=actor, reason=reason)
        except IllegalTransitionError as exc:  # the run's state is in the checkpoint either way
            log.warning("run %s: its end was not recorded: %s", self.row.run_id, exc)

    def _audit(self, event: events.Event) -> None:
        self.log(event, actor="factory")

    def _decided(self, event: events.DecisionRecorded) -> None:
        self.log(event, actor=event.by, key=f"decision:{event.key}")

    def _write_files(self, event: events.StageFinished) -> None:
        self._workspace()  # the folder's history starts before its first file
        for problem in write_stage_artifacts(self.out_dir, event.record):
            self._refused(event.record.team, problem)

    def _write_draft(self, event: events.DraftSaved) -> None:
        self._workspace()
        for problem in write_draft(self.out_dir, event.path, event.content):
            self._refused(event.team, problem)

    def _refused(self, team: str, problem: str, kind: str = "artifact_refused") -> None:
        """Record a file that was not written or committed (a planted link, a full disk).

        Never fatal: the run's state is in Postgres either way.
        """
        notice = events.Notice(kind=kind, team=team, message=problem[:1000])
        log.warning("run %s: %s", self.row.run_id, notice.message)
        self.log(notice, actor="factory")

    def _workspace(self) -> Workspace | None:
        """Return the run folder's git repository, made on first use (None once that failed)."""
        if self._git is None and not self._git_failed:
            try:
                workspace = Workspace(self.out_dir)
                workspace.init()
                self._git = workspace
            except WorkspaceError as exc:
                self._git_failed = True
                self._refused("factory", f"the run's folder keeps no history: {exc}", "workspace")
        return self._git

    def _commit_stage(self, event: events.StageFinished) -> None:
        """Commit a PASSED stage's files as its team; other outcomes commit nothing."""
        record, workspace = event.record, self._workspace()
        paths = published_paths(self.out_dir, record)
        if workspace is not None and paths and workspace.delivers():
            software = delivered_paths(self._plan(record))
            paths = [p for p in paths if p in software]  # the rest stays in the run's folder
        if workspace is None or not paths:
            return
        teams = load_teams()
        name = teams[record.team].name if record.team in teams else record.team
        try:
            message = commit_message(record, name, self.out_dir)
            workspace.commit_stage(record.team, name, paths, message)
        except WorkspaceError as exc:
            self._refused(record.team, f"git: {exc}", "workspace")

    def _plan(self, record: StageRecord) -> BuildPlan | None:
        """Return the run's build plan: the stage's own, else the one in the run's folder."""
        found = find_plan({record.team: record})
        if found is not None:
            return found
        try:
            text = read_file(self.out_dir, PLAN_PATH, PLAN_BYTES).decode("utf-8")
        except (OSError, ValueError):  # gone, a link, too large, not UTF-8
            return None
        return read_plan(text)

    def _commit_summary(self) -> None:
        # Committed rather than excluded: a clone of the folder is then the whole run,
        # summary included, and `git status` stays clean. Each drive that ends (a pause,
        # the end) adds one when run.json or SUMMARY.md changed.
        workspace = self._workspace()
        try:
            if workspace is not None:
                workspace.commit_all(SUMMARY_COMMIT)
        except WorkspaceError as exc:
            self._refused("factory", f"git: {exc}", "workspace")

    def _watch_stage(self, event: events.StageFinished) -> None:
        if self.watch is not None:
            self.watch.stage(event.record)

    def _audit_stage(self, event: events.StageFinished) -> None:
        for kept in events.stage_records(event.record):
            self.log(kept, actor=event.record.team)

    def stop(
        self, values: Mapping[str, Any], pending: Sequence[Pending], failure: str
    ) -> tuple[Phase, str, events.PhaseChanged | None]:
        """Record where the drive stopped: failed, paused for a person, or the graph's outcome.

        ``values``: the run's state as its graph holds it (``graph/state.RunState``, its
        models as models). Returns the run's status, why, and the move to PAUSED to show
        (None when there is none, or it was recorded already).
        """
        if failure:  # recorded by finish, once the files are written
            self._ending = (once("failed", ()), Phase.FAILED, "factory", failure)
            return Phase.FAILED, failure, None
        if pending:
            reason = "waiting for a person: " + "; ".join(p.pause.title for p in pending)
            key = once("pause", (p.interrupt_id for p in pending))
            paused = self.runs.pause(
                self.row.run_id, key, asked(pending), actor="factory", reason=reason[:2000]
            )
            if paused is None:
                return Phase.PAUSED, reason, None
            self.log_move(key, paused)
            shown = events.PhaseChanged(
                from_phase=paused.from_phase.value,
                to_phase=Phase.PAUSED.value,
                actor="factory",
                reason=reason,
            )
            return Phase.PAUSED, reason, shown
        outcome = outcome_of(values)
        if outcome is None:
            return Phase.FAILED, "", None
        ended = Phase(outcome.status)
        if self._ending is None or self._ending[1] != ended:  # a drive resumed after the node
            self._ending = (once("end", ()), ended, "factory", outcome.reason)
        return ended, outcome.reason, None

    def finish(
        self,
        status: str,
        reason: str,
        values: Mapping[str, Any],
        pending: Sequence[Pending],
        next_stages: Sequence[str] = (),
        *,
        commit: bool = True,
    ) -> list[StageRecord]:
        """Write the run's files, release the run, and retain how it ended; return its records.

        ``commit``: commit ``run.json`` and ``SUMMARY.md`` with what the folder holds. A
        drive interrupted mid-run commits nothing: the build loop's drafts of the stage
        under way are no one's accepted work yet, and the resumed drive commits them.

        ``values``: the run's state as its graph holds it (``graph/state.RunState``); what
        leaves the process (``run.json``, the run's view) is made from it here. The run's
        view gets the whole of what it shows with the release: its state as the drive left
        it, the questions it waits on and its graph's ``next_stages``.
        """
        row = self.row
        records = ordered_records(values.get("stages", {}), load_pipeline(row.pipeline).teams)
        requirement = values.get("requirement", "")
        self._workspace()
        teams = load_teams()
        told = {r.team: instructions_of(teams[r.team]) for r in records if r.team in teams}
        checks = final_checks_of(values)
        spent = spend_by_team(values)  # the ledger: what `usage` and the API count too
        refused = write_run_files(
            self.out_dir,
            run_id=row.run_id,
            requirement=requirement,
            pipeline=row.pipeline,
            status=status,
            reason=reason,
            records=records,
            spend=spent,
            final_checks=checks,
            instructions=told,  # a claim copied from them is not listed
        )
        for problem in refused:  # the run's state is in Postgres either way
            self._refused("factory", problem)
        if commit:
            self._commit_summary()
        self._end()
        self.runs.release(
            row.run_id,
            reason=reason,
            spend=Spend.total(spent.values()),
            spend_detail=spend_by_team_and_model(values),
            requirement=requirement or None,
            pending=[p.interrupt_id for p in pending],
            driver=self.driver,
            view=RunView(shown(values), asked(pending), list(next_stages)),
        )
        if self.watch is not None:
            self.watch.ended(status, checks)
        if status in TERMINAL and self.memory is not None:
            self.memory.retain_run(
                run_id=row.run_id,
                project=row.project,
                requirement=requirement or row.requirement,
                status=status,
                reason=reason,
                owner=row.owner,
            )
        return records

    def abandon(self, exc: BaseException) -> None:
        """Release a run whose drive stopped on an error: it shows INTERRUPTED, resumable."""
        why = (
            "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        )
        try:
            self.runs.release(
                self.row.run_id, reason=f"the driver stopped: {why}"[:2000], driver=self.driver
            )
        except Exception as lost:  # noqa: BLE001 - e.g. the database is gone: the lease lapses
            log.warning("run %s: could not release it after %s: %s", self.row.run_id, why, lost)
