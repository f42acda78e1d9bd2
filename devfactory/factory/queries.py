"""What the factory's clients ask about runs and their audit logs.

``Queries`` reads the factory's stores; ``Factory`` hands its clients' questions
to it, so that the CLI, the chat and the API never reach past the factory into
its stores. A run's stages, spend and pending questions are read from its view
(``store/views.py``, kept by its recorder), not from its checkpoint: a read is
a few keyed queries, however many clients ask. Only a run recorded before views
existed has its checkpoint read, once, to build its view.
"""

from __future__ import annotations

from dataclasses import replace

from devfactory.control.lifecycle import Phase
from devfactory.factory.drawing import View, running_nodes, view, waits_at
from devfactory.factory.reads import RunNotFoundError, RunReads
from devfactory.factory.reports import RunUsage, ShownRun, default_caps, pending_of
from devfactory.factory.stores import Graphs, Stores
from devfactory.memory.audit import AuditEvent, Verification
from devfactory.settings import Settings
from devfactory.store.runs_table import RunRow
from devfactory.store.views import RunView, shown
from devfactory.teams import load_teams


class Queries(RunReads):
    """Read-only questions about runs and their audit logs.

    A run's row, report and questions are ``RunReads``'s (no graph); a run
    recorded before views existed has its view built here, from its checkpoint.
    """

    def __init__(self, settings: Settings, stores: Stores, graphs: Graphs) -> None:
        super().__init__(stores.runs, missing=self.view_from_checkpoint)
        self.settings, self.stores, self.graphs = settings, stores, graphs

    def drawing(self, run_id: str, *, xray: bool = False) -> View:
        """Draw a run's graph: each stage coloured by its outcome, attempts and confidence."""
        report = self.report(run_id)
        pipeline = self.get(run_id).pipeline
        title = f"run {run_id} (pipeline {pipeline}): {report.status}"
        asked = [
            (q.get("asker", ""), q.get("target", "")) for q in report.shown.clarifications.values()
        ]
        return view(
            self.graphs.compiled(pipeline),
            load_teams(),
            title=title,
            xray=xray,
            records=report.records,
            waiting={waits_at(p.pause.team, p.pause.kind) for p in report.pending},
            asked=asked,
            blocked={p.pause.team or "" for p in report.pending if p.pause.kind == "blocked"},
            running=running_nodes(report.status, report.next_stages),
        )

    def view_from_checkpoint(self, row: RunRow) -> RunView:
        """Build the view of a run recorded before views existed, from its checkpoint; keep it.

        That checkpoint's questions are kept only where the row still names them:
        an answered question stays in the checkpoint until the run is driven on.
        """
        snapshot = self.graphs.state(row.pipeline, row.run_id)
        waiting = set(row.pending) if row.status == Phase.PAUSED else set()
        found = RunView(
            shown(snapshot.values or {}),
            [
                {"id": p.interrupt_id, "pause": p.pause.model_dump(mode="json")}
                for p in pending_of(row.run_id, snapshot)
                if p.interrupt_id in waiting
            ],
            list(snapshot.next),
        )
        self.stores.runs.views.repair(row.run_id, found)
        return found

    def usage(self, run_id: str) -> RunUsage:
        """Return the run's spend by team (every round), its caps and its project's total."""
        row = self.get(run_id)
        state = ShownRun.of(self.view(row).values)
        return RunUsage.of(
            run_id,
            row.project,
            state.spend,
            state.budget or default_caps(self.settings, self.stores.caps.current(row.project)),
            project_spent=self.stores.runs.project_spent(row.project, excluding=run_id),
        )

    def audit_events(self, run_id: str) -> list[AuditEvent]:
        """Return the run's audit events in chain order."""
        self.get(run_id)
        return self.stores.audit.events(run_id)

    def verify_audit(self, run_id: str) -> Verification:
        """Recompute the run's audit chain and name the first link that does not hold.

        The log verifies itself: a run whose row was deleted from the runs table is
        still verified from its events and anchor, and the missing row is reported.
        Raises ``RunNotFoundError`` only when neither a row nor any record exists.
        """
        checked = self.stores.audit.verify(run_id)
        if self.stores.runs.get(run_id) is not None:
            return checked
        if checked.rows == 0 and self.stores.audit.anchors.head(run_id) is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        gone = "the run's row was deleted from the runs table; its audit log remains"
        problem = f"{checked.problem}; {gone}" if checked.problem else gone
        return replace(checked, row_deleted=True, problem=problem)
