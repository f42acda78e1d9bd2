"""What the factory's clients ask about runs, the audit log and memory.

``Queries`` reads the factory's stores and its runs' checkpoints; ``Factory``
hands its clients' questions to it, so that the CLI, the chat and the API never
reach past the factory into its stores.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from devfactory.artifacts import ordered_records
from devfactory.control.lifecycle import Phase, Transition
from devfactory.drawing import View, view, waits_at
from devfactory.memory.audit import AuditEvent, SearchHit, Verification
from devfactory.memory.live import Owners, RecalledMemory
from devfactory.memory.service import MemoryStats, Reindexed
from devfactory.pipelines import load_pipeline
from devfactory.reports import Pending, RunReport, RunUsage, default_caps, pending_of
from devfactory.settings import Settings
from devfactory.store.runs import RunRow
from devfactory.stores import Graphs, Stores
from devfactory.teams import load_teams


class RunNotFoundError(LookupError):
    """No run has that id."""


class Queries:
    """Read-only questions about runs, their audit logs and memory."""

    def __init__(self, settings: Settings, stores: Stores, graphs: Graphs) -> None:
        self.settings, self.stores, self.graphs = settings, stores, graphs

    def get(self, run_id: str) -> RunRow:
        """Return a run's row or raise ``RunNotFoundError``."""
        row = self.stores.runs.get(run_id)
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        return row

    def list_runs(
        self,
        limit: int = 20,
        *,
        status: str | None = None,
        owner: str | None = None,
        project: str | None = None,
    ) -> list[RunRow]:
        """Return the newest runs first (only those in ``status``, of ``owner``, in ``project``)."""
        return self.stores.runs.list(limit, status=status, owner=owner, project=project)

    def transitions(self, run_id: str) -> list[Transition]:
        """Return the run's lifecycle transitions in order."""
        self.get(run_id)
        return self.stores.runs.transitions(run_id)

    def drawing(self, run_id: str, *, xray: bool = False) -> View:
        """Draw a run's graph: each stage coloured by its outcome, attempts and confidence."""
        report = self.report(run_id)
        pipeline = self.get(run_id).pipeline
        title = f"run {run_id} (pipeline {pipeline}): {report.status}"
        asked = [
            (str(q.get("asker", "")), str(q.get("target", "")))
            for q in (report.values.get("clarifications") or {}).values()
        ]
        return view(
            self.graphs.compiled(pipeline),
            load_teams(),
            title=title,
            xray=xray,
            records=report.records,
            waiting={waits_at(p.pause.team, p.pause.kind) for p in report.pending},
            asked=asked,
        )

    def usage(self, run_id: str) -> RunUsage:
        """Return the run's spend by team (every round), its caps and its project's total."""
        row = self.get(run_id)
        values = self.graphs.state(row.pipeline, run_id).values or {}
        return RunUsage.of(
            run_id,
            row.project,
            values,
            default=default_caps(self.settings, self.stores.caps.current(row.project)),
            project_spent=self.stores.runs.project_spent(row.project, excluding=run_id),
        )

    def report(self, run_id: str) -> RunReport:
        """Describe a run from its row and latest checkpoint."""
        row = self.get(run_id)
        snapshot = self.graphs.state(row.pipeline, run_id)
        values = dict(snapshot.values or {})
        records = ordered_records(values.get("stages", {}), load_pipeline(row.pipeline).teams)
        pending = pending_of(run_id, snapshot)
        return RunReport(
            run_id,
            row.shown_status,
            row.reason,
            Path(row.out_dir),
            records,
            tuple(snapshot.next),
            pending,
            values,
        )

    def pending(self, run_id: str | None = None) -> list[Pending]:
        """List what paused runs (or one run) wait on, oldest question first."""
        rows = [self.get(run_id)] if run_id else self.stores.runs.list(1000, status=Phase.PAUSED)
        found: list[Pending] = []
        for row in rows:
            if row.status != Phase.PAUSED:
                continue
            found.extend(pending_of(row.run_id, self.graphs.state(row.pipeline, row.run_id)))
        return found

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

    def search_audit(
        self, query: str, *, run_id: str | None = None, limit: int = 20
    ) -> list[SearchHit]:
        """Full-text search over every run's audit events (or one run's)."""
        return self.stores.audit.search(query, run_id=run_id, limit=limit)

    def search_memory(
        self, bank: str, query: str, *, k: int, threshold: float, owners: Owners = None
    ) -> list[RecalledMemory]:
        """Return ``owners``' memories of ``bank`` closest to ``query`` (``facts:<team>``: facts).

        ``owners`` None (the local operator's CLI): every owner's memories.
        """
        return self.stores.memory().search(bank, query, k=k, threshold=threshold, owners=owners)

    def recent_memories(self, bank: str, *, owners: Owners, limit: int) -> list[RecalledMemory]:
        """Return the newest memories of ``bank`` that ``owners`` may see, newest first."""
        return self.stores.memory().recent(bank, owners=owners, limit=limit)

    def memory_stats(self) -> MemoryStats:
        """Describe every memory bank, the embedder in use and each team's facts."""
        return self.stores.memory().stats()

    def reindex_memory(self, bank: str) -> Reindexed:
        """Re-embed ``bank`` with the embedder in use now (after switching embedders)."""
        return self.stores.memory().reindex(bank)
