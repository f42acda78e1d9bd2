"""The factory's runtime, one object for every entry point: ``Factory``.

``Factory`` opens the database and wires the services that do the work, each
given the same ``Stores`` and ``Graphs`` (``stores.py``) instead of inheriting
them: ``RunDriver`` (``driver.py``: start, resume and drive runs),
``Queries`` (``queries.py``: what clients ask), ``Answers`` (``answers.py``:
answers, cancellations, pre-approvals, purges) and ``QueuedRuns``
(``queueing.py``: runs for the workers); these two drive runs through the
``RunDriver`` and take its stores, graphs and queries. Its methods hand each question to the
service that answers it, so that no client (CLI, chat, API, workers) reaches
past the factory. The operator's services are attributes: ``switchboard``
(``switchboard.py``: the stop, holds, thresholds and incidents the driver
obeys) and ``interventions`` (``interventions.py``: resuming a team, deciding
an incident, which answer runs through ``Answers``). Each service is given
what it needs when it is made; none is wired to another afterwards.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Unpack

from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph.state import CompiledStateGraph
from psycopg_pool import ConnectionPool

from devfactory.control.budget import Caps
from devfactory.control.hitl import Decision
from devfactory.control.lifecycle import Phase, Transition
from devfactory.control.unattended import PreApproval
from devfactory.factory.answers import AnswerOptions, Answers, Asked
from devfactory.factory.drawing import View
from devfactory.factory.driver import EventSink, RunDriver, StopCheck
from devfactory.factory.intake import StartRequest, check_clone, checkout
from devfactory.factory.interventions import Interventions
from devfactory.factory.queries import Queries
from devfactory.factory.queueing import QueuedRuns
from devfactory.factory.reads import RunNotFoundError
from devfactory.factory.reports import Pending, RunReport, RunUsage, new_run_id
from devfactory.factory.stores import Graphs, Stores
from devfactory.factory.switchboard import Switchboard
from devfactory.memory.audit import AuditEvent, AuditLog, SearchHit, Verification
from devfactory.memory.live import Owners, RecalledMemory
from devfactory.memory.service import MemoryService, MemoryStats, Reindexed
from devfactory.models.router import ModelSource, model_source
from devfactory.pipelines import load_pipeline
from devfactory.settings import Settings
from devfactory.store.approvals import ProjectApprovals
from devfactory.store.db import prepare
from devfactory.store.event_feed import EventFeed
from devfactory.store.health_snapshots import publish_health
from devfactory.store.queue import RunQueue
from devfactory.store.runs_table import (
    RunBusyError,
    RunFilters,
    RunRow,
    RunStateError,
    RunStore,
)
from devfactory.store.views import RunView
from devfactory.tracing import open_tracing

__all__ = [
    "Factory",
    "Pending",
    "RunBusyError",
    "RunNotFoundError",
    "RunReport",
    "RunStateError",
    "new_run_id",
]


class Factory:
    """The factory's runtime: database, checkpointer, compiled graphs, runs and their records.

    ``models`` serves each model alias; None takes ``model_source(settings)`` (the
    router, or the ``models_factory`` hook), as every entry point does. The stores
    stay readable as attributes (``runs``, ``queue``, ``feed``, ``audit``, ...) for
    the workers and the API's metrics.
    """

    def __init__(
        self, settings: Settings, *, models: ModelSource | None = None, tracing: Any | None = None
    ) -> None:
        self.settings = settings
        self.models: ModelSource = models if models is not None else model_source(settings)
        self.database = prepare(settings)  # migrations run as the owner
        self.dsn = self.database.dsn
        self.stores = Stores.open(settings, self.dsn)
        self.pool: ConnectionPool = self.stores.pool
        # the models' health, for the API and `devfactory models` (store/health_snapshots.py)
        self.health = publish_health(settings, self.models, self.pool)
        self.checkpointer: PostgresSaver = self.stores.checkpointer
        self.runs: RunStore = self.stores.runs
        self.queue: RunQueue = self.stores.queue
        self.feed: EventFeed = self.stores.feed
        self.approvals: ProjectApprovals = self.stores.approvals
        self.audit: AuditLog = self.stores.audit
        # Langfuse (LANGFUSE_* keys): one trace per run; None sends nothing
        self.tracing = (
            tracing if tracing is not None else open_tracing(settings.serving.probe_timeout_s)
        )
        self.graphs = Graphs(self.checkpointer, settings.generation.recursion_limit)
        self._queries = Queries(settings, self.stores, self.graphs)
        # the operator's controls and incidents (switchboard.py): drives obey them
        self.switchboard = Switchboard(settings, self.stores)
        self._driver = RunDriver(
            settings,
            self.stores,
            self.graphs,
            self._queries,
            self.models,
            self.tracing,
            self.switchboard,
        )
        self._answers = Answers(self._driver)
        # the operator's decisions that answer runs: resuming a team, deciding an incident
        self.interventions = Interventions(self.switchboard, self._answers, self._queries)
        self._queued = QueuedRuns(self._driver)

    def __enter__(self) -> Factory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools (and mem0's, when fact memory was opened)."""
        if self.health is not None:
            self.health.close()  # its last snapshot, while the pool is open
        self.stores.close()

    def model_source(self) -> ModelSource:
        """Return the models runs use."""
        return self.models

    def models_for(self, alias: str) -> Any:
        """Return the chat model serving ``alias`` (with its fallbacks), for free text."""
        return self.models.resolve(alias).plain()

    @property
    def memory(self) -> MemoryService:
        """The memory service (the embedder and mem0 are set up on first use)."""
        return self.stores.memory()

    def graph(self, pipeline: str) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Return ``pipeline``'s graph compiled with the Postgres checkpointer."""
        return self.graphs.compiled(pipeline)

    # --- driving runs here (RunDriver) ---------------------------------------------------

    def start(self, asked: StartRequest, *, on_event: EventSink | None = None) -> RunReport:
        """Start a new run and drive it in this process until it ends or waits for a person.

        ``asked.unattended`` (None: the ``unattended`` setting) has the policy's rules
        answer every pause; the run keeps it in its state, so a resumed run does too.
        ``asked.repo`` (a path or URL) delivers into that repository on a branch
        ``devfactory/<run-id>`` from ``asked.base`` (None: its HEAD branch;
        intake.checkout), cloned here first.
        """
        if asked.repo is not None:
            load_pipeline(asked.pipeline)  # refused before anything is cloned
            run_id, out_dir = checkout(
                self.settings, asked.repo, asked.base, run_id=asked.run_id, out_dir=asked.out_dir
            )
            asked = replace(asked, run_id=run_id, out_dir=out_dir)
        return self._driver.start(asked, on_event=on_event)

    def resume(self, run_id: str, *, on_event: EventSink | None = None) -> RunReport:
        """Continue an interrupted run from its last checkpoint; finished stages are not rerun."""
        return self._driver.resume(run_id, on_event=on_event)

    def interrupt(self, why: str) -> None:
        """Ask the runs this process drives to stop at their next step boundary, resumable."""
        self._driver.interrupt(why)

    def stop_now(self, why: str) -> list[str]:
        """Record the runs this process drives as interrupted now, for a process ending at once."""
        return self._driver.stop_now(why)

    # --- runs for the workers (QueuedRuns) -----------------------------------------------

    def submit(self, asked: StartRequest, *, confined: bool = False) -> RunRow:
        """Create a run and queue it for a worker (``devfactory worker``); return its row.

        ``asked.repo`` and ``asked.base``: as for ``start``, but nothing is cloned
        here: they are checked without any network (``intake.check_clone``) and the
        worker that claims the run clones the repository into its folder before the
        first step. ``confined``: a local path must be under ``repo_local_roots`` (one
        given over the API), here, at the clone and at delivery.
        """
        clone = None
        if asked.repo is not None:
            clone = check_clone(self.settings, asked.repo, asked.base, confined=confined)
        return self._queued.submit(asked, clone=clone)

    def drive_claimed(
        self, row: RunRow, driver: str, *, on_event: EventSink | None = None, stop: StopCheck
    ) -> RunReport:
        """Drive a run a worker claimed from the queue (``RunQueue.claim``) with its inbox."""
        return self._queued.drive_claimed(row, driver, on_event=on_event, stop=stop)

    # --- questions (Queries) -------------------------------------------------------------

    def get(self, run_id: str) -> RunRow:
        """Return a run's row or raise ``RunNotFoundError``."""
        return self._queries.get(run_id)

    def list_runs(self, limit: int = 20, **only: Unpack[RunFilters]) -> list[RunRow]:
        """Return the newest runs first (only those in ``status``, of ``owner``, in ``project``)."""
        return self._queries.list_runs(limit, **only)

    def transitions(self, run_id: str) -> list[Transition]:
        """Return the run's lifecycle transitions in order."""
        return self._queries.transitions(run_id)

    def drawing(self, run_id: str, *, xray: bool = False) -> View:
        """Draw a run's graph: each stage coloured by its outcome, attempts and confidence."""
        return self._queries.drawing(run_id, xray=xray)

    def usage(self, run_id: str) -> RunUsage:
        """Return the run's spend by team (every round), its caps and its project's total."""
        return self._queries.usage(run_id)

    def report(self, run_id: str) -> RunReport:
        """Describe a run from its row and its view (``store/views.py``)."""
        return self._queries.report(run_id)

    def view_from_checkpoint(self, row: RunRow) -> RunView:
        """Build and keep the view of a run recorded before views existed."""
        return self._queries.view_from_checkpoint(row)

    def detail(self, run_id: str) -> tuple[RunRow, RunReport, list[Transition]]:
        """Return a run's row, its report and its transitions, read in one query."""
        return self._queries.detail(run_id)

    def pending(self, run_id: str | None = None) -> list[Pending]:
        """List what paused runs (or one run) wait on, oldest question first."""
        return self._queries.pending(run_id)

    def audit_events(self, run_id: str) -> list[AuditEvent]:
        """Return the run's audit events in chain order."""
        return self._queries.audit_events(run_id)

    def verify_audit(self, run_id: str) -> Verification:
        """Recompute the run's audit chain and name the first link that does not hold."""
        return self._queries.verify_audit(run_id)

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

    def recent_memories(self, bank: str, *, owners: Owners, limit: int) -> list[RecalledMemory]:
        """Return the newest memories of ``bank`` that ``owners`` may see, newest first."""
        return self.memory.recent(bank, owners=owners, limit=limit)

    def reindex_memory(self, bank: str) -> Reindexed:
        """Re-embed ``bank`` with the embedder in use now (after switching embedders)."""
        return self.memory.reindex(bank)

    # --- what people ask of runs (Answers) -----------------------------------------------

    def check_answer(
        self, run_id: str, decision: Decision, *, interrupt_id: str, **asked: Unpack[Asked]
    ) -> list[Pending]:
        """Return the questions ``decision`` answers, or raise why it may not."""
        return self._answers.check_answer(run_id, decision, interrupt_id=interrupt_id, **asked)

    def answer(
        self, run_id: str, decision: Decision, *, interrupt_id: str, **how: Unpack[AnswerOptions]
    ) -> RunReport:
        """Resume a paused run with a person's ``decision`` (driven here, or by a worker)."""
        return self._answers.answer(run_id, decision, interrupt_id=interrupt_id, **how)

    def approve_project(
        self, project: str, *, by: str, role: str, note: str = "", revoke: bool = False
    ) -> PreApproval:
        """Pre-approve ``project``'s unattended runs at their governance pause (or revoke it)."""
        return self._answers.approve_project(project, by=by, role=role, note=note, revoke=revoke)

    def set_project_caps(
        self, project: str, caps: dict[str, Caps], *, by: str, role: str
    ) -> dict[str, Any]:
        """Set the budgets ``project``'s new runs get (admins only; audited)."""
        return self._answers.set_project_caps(project, caps, by=by, role=role)

    def project_caps(self) -> list[dict[str, Any]]:
        """Return the budgets set per project: each project's newest row."""
        return self.stores.caps.every()

    def cancel(self, run_id: str, *, by: str, role: str) -> RunRow:
        """Ask a run to stop: at once when nobody drives it, else at its driver's next step."""
        return self._answers.cancel(run_id, by=by, role=role)

    def end_idle(self, row: RunRow, to: Phase, *, actor: str, reason: str) -> bool:
        """End a run nobody drives (CANCELLED or FAILED); False when a driver took it."""
        return self._answers.end_idle(row, to, actor=actor, reason=reason)

    def purge(self, run_id: str, *, by: str, role: str) -> dict[str, Any]:
        """Delete an archived run's checkpoints, live events and folder; keep its audit log."""
        return self._answers.purge(run_id, by=by, role=role)
