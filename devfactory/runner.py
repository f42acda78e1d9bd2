"""Drive runs: compile the graph with the Postgres checkpointer, stream, pause, resume.

This is the edge where durability, context and (later) tracing are attached;
graph nodes never open connections themselves. Every event the graph emits
goes to the run's ``RunRecorder`` (runs table, audit log, artifacts) and then
to the caller's ``on_event``. The runner records its own moves: PAUSED when
the graph stops at an interrupt, and the way back when a person's decision
resumes it. ``Factory`` also answers the questions its clients ask (runs,
audit, memory), so that no client reaches past it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from devfactory.artifacts import ordered_records
from devfactory.control.budget import Caps
from devfactory.control.hitl import Decision, check_decision
from devfactory.control.lifecycle import TERMINAL, Phase, Transition
from devfactory.events import (
    DecisionRecorded,
    Event,
    PhaseChanged,
    RunCreated,
    RunFinished,
    RunStarted,
)
from devfactory.graph.builder import build_graph
from devfactory.graph.context import Context
from devfactory.memory.audit import AuditEvent, AuditLog, SearchHit, Verification
from devfactory.memory.live import Recalled
from devfactory.memory.service import MemoryService, MemoryStats, Reindexed
from devfactory.models.router import ModelSource, model_source, router_for
from devfactory.pipelines import load_pipeline
from devfactory.recorder import RunRecorder, once
from devfactory.reports import (
    Pending,
    RunReport,
    RunUsage,
    choose_pending,
    default_caps,
    new_run_id,
    pending_of,
)
from devfactory.settings import Settings
from devfactory.store.db import migrate, open_pool, resolve_dsn
from devfactory.store.runs import RunRow, RunStore

EventSink = Callable[[Event], None]


class RunNotFoundError(LookupError):
    """No run has that id."""


class RunBusyError(RuntimeError):
    """The run is still being driven by a live process."""


class RunStateError(RuntimeError):
    """The run's state does not allow the request (e.g. answering a run that is not paused)."""


class Factory:
    """The factory's runtime: database, checkpointer, compiled graphs, runs and their records.

    Args:
        settings: the factory's settings.
        models: what serves each model alias; None takes ``model_source(settings)``
            (the router, or the ``models_factory`` hook), as every entry point does.

    """

    def __init__(self, settings: Settings, *, models: ModelSource | None = None) -> None:
        self.settings = settings
        self.models: ModelSource = models if models is not None else model_source(settings)
        self.dsn = resolve_dsn(settings)
        self.pool = open_pool(self.dsn)
        migrate(self.pool)
        self.checkpointer = PostgresSaver(self.pool)  # type: ignore[arg-type]
        self.checkpointer.setup()
        self.runs = RunStore(self.pool)
        self.audit = AuditLog(self.pool)
        self._memory: MemoryService | None = None
        self._graphs: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = {}

    def __enter__(self) -> Factory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools (and mem0's, when fact memory was opened)."""
        if self._memory is not None and self._memory.facts is not None:
            self._memory.facts.close()
        self.pool.close()

    def model_source(self) -> ModelSource:
        """Return the models runs use."""
        return self.models

    def models_for(self, alias: str) -> Any:
        """Return the chat model serving ``alias`` (with its fallbacks), for free text."""
        return self.models.resolve(alias).plain()

    @property
    def memory(self) -> MemoryService:
        """The memory service (the embedder and mem0 are set up on first use)."""
        if self._memory is None:
            embedder = router_for(self.settings).embedder()
            self._memory = MemoryService.open(self.settings, self.pool, self.dsn, embedder)
        return self._memory

    def graph(self, pipeline: str) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Return ``pipeline``'s graph compiled with the Postgres checkpointer."""
        if pipeline not in self._graphs:
            self._graphs[pipeline] = build_graph(pipeline).compile(checkpointer=self.checkpointer)
        return self._graphs[pipeline]

    def _config(self, run_id: str) -> RunnableConfig:
        return {
            "configurable": {"thread_id": run_id},
            "recursion_limit": self.settings.recursion_limit,
            "run_name": f"devfactory run {run_id}",
            "tags": ["devfactory", f"run:{run_id}"],
        }

    def _recorder(self, row: RunRow) -> RunRecorder:
        memory = self.memory if self.settings.memory_enabled else None
        return RunRecorder(self.runs, self.audit, row, memory)

    # --- driving runs ------------------------------------------------------------------

    def start(
        self,
        requirement: str,
        *,
        pipeline: str = "mvp",
        project: str = "default",
        caps: Caps | None = None,
        out_dir: Path | None = None,
        on_event: EventSink | None = None,
        run_id: str | None = None,
        owner: str = "",
    ) -> RunReport:
        """Start a new run and drive it until it ends or waits for a person."""
        load_pipeline(pipeline)  # fail fast on an unknown pipeline
        requirement = requirement.strip()
        if not requirement:
            raise ValueError("the requirement is empty")
        run_id = run_id or new_run_id()
        out = (out_dir or Path.cwd() / "out" / run_id).resolve()
        budget = default_caps(self.settings)
        if caps is not None:
            budget["run"] = {**budget["run"], **caps.model_dump(exclude_none=True)}
        self.runs.create(run_id, requirement, pipeline, str(out), project, owner)
        row = self.get(run_id)
        created = RunCreated(
            requirement=requirement, pipeline=pipeline, project=project, budget=budget
        )
        self._recorder(row).log(created, actor=owner or "factory", key="run_created")
        payload = {
            "run_id": run_id,
            "requirement": requirement,
            "pipeline": pipeline,
            "project": project,
            "budget": budget,
            "phase": Phase.DRAFT.value,
        }
        return self._drive(row, payload, on_event)

    def resume(self, run_id: str, *, on_event: EventSink | None = None) -> RunReport:
        """Continue an interrupted run from its last checkpoint; finished stages are not rerun."""
        row = self.get(run_id)
        if row.status == Phase.PAUSED:
            raise RunStateError(
                f"run {run_id} is waiting for a person; see `devfactory pending {run_id}`"
            )
        if row.status in TERMINAL:
            raise RunStateError(f"run {run_id} already ended {row.status}")
        if not row.interrupted:
            raise RunBusyError(
                f"run {run_id} is still running (pid {row.pid} on {row.host}); "
                "resume it once that process has stopped"
            )
        return self._drive(row, None, on_event)

    def pending(self, run_id: str | None = None) -> list[Pending]:
        """List what paused runs (or one run) wait on, oldest question first."""
        rows = [self.get(run_id)] if run_id else self.runs.list(1000, status=Phase.PAUSED)
        found: list[Pending] = []
        for row in rows:
            if row.status != Phase.PAUSED:
                continue
            snapshot = self.graph(row.pipeline).get_state(self._config(row.run_id))
            found.extend(pending_of(row.run_id, snapshot))
        return found

    def check_answer(
        self,
        run_id: str,
        decision: Decision,
        *,
        interrupt_id: str | None = None,
        kind: str | None = None,
    ) -> list[Pending]:
        """Return the questions ``decision`` answers (``choose_pending`` picks them).

        Raises ``RunStateError`` when the run is not paused and ``DecisionError``
        when the decision may not answer the question.
        """
        row = self.get(run_id)
        if row.status != Phase.PAUSED:
            raise RunStateError(f"run {run_id} is {row.shown_status}, not waiting for a person")
        chosen = choose_pending(self.pending(run_id), interrupt_id=interrupt_id, kind=kind)
        for item in chosen:
            check_decision(item.pause, decision)
        return chosen

    def answer(
        self,
        run_id: str,
        decision: Decision,
        *,
        interrupt_id: str | None = None,
        kind: str | None = None,
        on_event: EventSink | None = None,
    ) -> RunReport:
        """Resume a paused run with a person's ``decision`` (checked by ``check_answer``)."""
        row = self.get(run_id)
        chosen = self.check_answer(run_id, decision, interrupt_id=interrupt_id, kind=kind)
        snapshot = self.graph(row.pipeline).get_state(self._config(run_id))
        phase = (snapshot.values or {}).get("phase", Phase.DRAFT)
        pause = chosen[0].pause
        actor, why = f"{decision.by} ({decision.role})", f"{pause.kind}: {decision.summary()}"
        key = once("resume", (p.interrupt_id for p in chosen))
        value = decision.model_dump(mode="json")
        recorder = self._recorder(row)
        decided = DecisionRecorded(
            pause=pause.kind,
            team=pause.team,
            question=pause.title,
            interrupts=[p.interrupt_id for p in chosen],
            **value,
        )
        recorder.log(decided, actor=actor, key=f"decision:{key}")
        recorder.move(key, phase, actor=actor, reason=why)
        resumed = PhaseChanged(from_phase="PAUSED", to_phase=phase, actor=actor, reason=why)
        command: Command[Any] = Command(resume={p.interrupt_id: value for p in chosen})
        return self._drive(row, command, on_event, first=resumed)

    def _drive(
        self,
        row: RunRow,
        payload: Any,
        on_event: EventSink | None,
        first: Event | None = None,
    ) -> RunReport:
        run_id, out_dir = row.run_id, Path(row.out_dir)
        graph, config = self.graph(row.pipeline), self._config(run_id)
        recorder = self._recorder(row)
        self.runs.claim(run_id)
        context = Context(
            settings=self.settings,
            models=self.models,
            project_spent=self.runs.project_spent(row.project, excluding=run_id),
            memory=recorder.memory,
        )
        show = on_event or (lambda event: None)
        resumed = not isinstance(payload, dict)
        show(
            RunStarted(run_id=run_id, pipeline=row.pipeline, out_dir=str(out_dir), resumed=resumed)
        )
        if first is not None:
            show(first)
        failure = ""
        try:
            for _ns, _mode, chunk in graph.stream(
                payload,
                config,
                context=context,
                stream_mode=["custom"],
                subgraphs=True,
                durability="sync",
            ):
                if isinstance(chunk, Event):
                    recorder.record(chunk)
                    show(chunk)
        except GraphRecursionError:
            failure = f"recursion limit {self.settings.recursion_limit} reached"
        snapshot = graph.get_state(config)
        values = dict(snapshot.values or {})
        pending = pending_of(run_id, snapshot)
        status, reason, paused = recorder.stop(values, pending, failure)
        if paused is not None:
            show(paused)
        records = recorder.finish(status, reason, values)
        report = RunReport(
            run_id, status, reason, out_dir, records, tuple(snapshot.next), pending, values
        )
        show(RunFinished(run_id=run_id, status=status, reason=reason))
        return report

    # --- what clients ask --------------------------------------------------------------

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
        """Recompute the run's audit chain and name the first link that does not hold."""
        self.get(run_id)
        return self.audit.verify(run_id)

    def search_audit(
        self, query: str, *, run_id: str | None = None, limit: int = 20
    ) -> list[SearchHit]:
        """Full-text search over every run's audit events (or one run's)."""
        return self.audit.search(query, run_id=run_id, limit=limit)

    def search_memory(self, bank: str, query: str, *, k: int, threshold: float) -> list[Recalled]:
        """Return the memories of ``bank`` closest to ``query`` (``facts:<team>`` for facts)."""
        return self.memory.search(bank, query, k=k, threshold=threshold)

    def memory_stats(self) -> MemoryStats:
        """Describe every memory bank, the embedder in use and each team's facts."""
        return self.memory.stats()

    def reindex_memory(self, bank: str) -> Reindexed:
        """Re-embed ``bank`` with the embedder in use now (after switching embedders)."""
        return self.memory.reindex(bank)
