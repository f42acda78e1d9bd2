"""What the factory's clients ask about runs, the audit log and memory.

``Queries`` is mixed into ``Factory``: the CLI, the chat (and the API) ask
these, so that none of them reaches past the factory into its stores.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from devfactory.artifacts import ordered_records
from devfactory.control.lifecycle import Transition
from devfactory.drawing import View, view
from devfactory.memory.audit import AuditEvent, AuditLog, SearchHit, Verification
from devfactory.memory.live import Owners, RecalledMemory
from devfactory.memory.service import MemoryService, MemoryStats, Reindexed
from devfactory.pipelines import load_pipeline
from devfactory.reports import RunReport, RunUsage, default_caps, pending_of
from devfactory.settings import Settings
from devfactory.store.runs import RunRow, RunStore
from devfactory.teams import load_teams


class RunNotFoundError(LookupError):
    """No run has that id."""


class Queries:
    """Read-only questions about runs; the factory provides the stores they read."""

    settings: Settings
    runs: RunStore
    audit: AuditLog

    @property
    def memory(self) -> MemoryService:
        """The memory service."""
        raise NotImplementedError

    def graph(self, pipeline: str) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Return ``pipeline``'s compiled graph."""
        raise NotImplementedError

    def _config(self, run_id: str) -> RunnableConfig:
        raise NotImplementedError

    def get(self, run_id: str) -> RunRow:
        """Return a run's row or raise ``RunNotFoundError``."""
        row = self.runs.get(run_id)
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
        return self.runs.list(limit, status=status, owner=owner, project=project)

    def transitions(self, run_id: str) -> list[Transition]:
        """Return the run's lifecycle transitions in order."""
        self.get(run_id)
        return self.runs.transitions(run_id)

    def drawing(self, run_id: str, *, xray: bool = False) -> View:
        """Draw a run's graph: each stage coloured by its outcome, attempts and confidence."""
        report = self.report(run_id)
        pipeline = self.get(run_id).pipeline
        title = f"run {run_id} (pipeline {pipeline}): {report.status}"
        return view(
            self.graph(pipeline), load_teams(), title=title, xray=xray, records=report.records
        )

    def usage(self, run_id: str) -> RunUsage:
        """Return the run's spend by team (every round), its caps and its project's total."""
        row = self.get(run_id)
        values = self.graph(row.pipeline).get_state(self._config(run_id)).values or {}
        return RunUsage.of(
            run_id,
            row.project,
            values,
            default=default_caps(self.settings),
            project_spent=self.runs.project_spent(row.project, excluding=run_id),
        )

    def report(self, run_id: str) -> RunReport:
        """Describe a run from its row and latest checkpoint."""
        row = self.get(run_id)
        snapshot = self.graph(row.pipeline).get_state(self._config(run_id))
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

    def audit_events(self, run_id: str) -> list[AuditEvent]:
        """Return the run's audit events in chain order."""
        self.get(run_id)
        return self.audit.events(run_id)

    def verify_audit(self, run_id: str) -> Verification:
        """Recompute the run's audit chain and name the first link that does not hold.

        The log verifies itself: a run whose row was deleted from the runs table is
        still verified from its events and anchor, and the missing row is reported.
        Raises ``RunNotFoundError`` only when neither a row nor any record exists.
        """
        checked = self.audit.verify(run_id)
        if self.runs.get(run_id) is not None:
            return checked
        if checked.rows == 0 and self.audit.anchors.head(run_id) is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        gone = "the run's row was deleted from the runs table; its audit log remains"
        problem = f"{checked.problem}; {gone}" if checked.problem else gone
        return replace(checked, row_deleted=True, problem=problem)

    def search_audit(
        self, query: str, *, run_id: str | None = None, limit: int = 20
    ) -> list[SearchHit]:
        """Full-text search over every run's audit events (or one run's)."""
        return self.audit.search(query, run_id=run_id, limit=limit)

    def search_memory(
        self, bank: str, query: str, *, k: int, threshold: float, owners: Owners = None
    ) -> list[RecalledMemory]:
        """Return ``owners``' memories of ``bank`` closest to ``query`` (``facts:<team>``: facts).

        ``owners`` None (the local operator's CLI): every owner's memories.
        """
        return self.memory.search(bank, query, k=k, threshold=threshold, owners=owners)

    def memory_stats(self) -> MemoryStats:
        """Describe every memory bank, the embedder in use and each team's facts."""
        return self.memory.stats()

    def reindex_memory(self, bank: str) -> Reindexed:
        """Re-embed ``bank`` with the embedder in use now (after switching embedders)."""
        return self.memory.reindex(bank)
