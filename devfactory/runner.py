"""Drive runs: compile the graph with the Postgres checkpointer, stream, pause, resume.

This is the edge where durability, context, logging and tracing are attached;
graph nodes never open connections themselves. Every event the graph emits
goes to the run's ``RunRecorder`` (runs table, audit log, artifacts), from
inside the node through ``Context.record``, and then to the caller's
``on_event``. The runner records its own moves: PAUSED when
the graph stops at an interrupt, and the way back when a person's decision
resumes it. An unattended run's pauses are answered inside the graph by the
policy's rules; their decisions reach the audit log here as a person's do.
``Factory`` also answers the questions its clients ask (runs, audit, memory),
so that no client reaches past it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph

from devfactory.answers import Answering
from devfactory.control.budget import Caps
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.events import (
    Event,
    PhaseChanged,
    RunCreated,
    RunError,
    RunFinished,
    RunStarted,
)
from devfactory.graph.builder import build_graph
from devfactory.graph.context import Context
from devfactory.logs import bound_run
from devfactory.memory.audit import AuditLog
from devfactory.memory.service import MemoryService
from devfactory.models.router import ModelSource, model_source, router_for
from devfactory.pipelines import load_pipeline
from devfactory.queries import RunNotFoundError
from devfactory.queueing import EventSink, StopCheck
from devfactory.recorder import RunRecorder, once
from devfactory.redact import redact
from devfactory.reports import (
    Pending,
    RunReport,
    checked_text,
    default_caps,
    new_run_id,
    pending_of,
    writable_folder,
)
from devfactory.settings import Settings
from devfactory.store.approvals import ProjectApprovals
from devfactory.store.db import open_pool, prepare
from devfactory.store.events import EventFeed
from devfactory.store.lease import Lease, new_driver
from devfactory.store.queue import RunQueue
from devfactory.store.runs import RunBusyError, RunRow, RunStateError, RunStore
from devfactory.tracing import RunTracer, open_tracing

__all__ = ["Factory", "RunBusyError", "RunNotFoundError", "RunStateError"]


class Factory(Answering):
    """The factory's runtime: database, checkpointer, compiled graphs, runs and their records.

    ``models`` serves each model alias; None takes ``model_source(settings)`` (the
    router, or the ``models_factory`` hook), as every entry point does.
    """

    def __init__(
        self, settings: Settings, *, models: ModelSource | None = None, tracing: Any | None = None
    ) -> None:
        self.settings = settings
        self.models: ModelSource = models if models is not None else model_source(settings)
        self.database = prepare(settings)  # migrations run as the owner
        self.dsn = self.database.dsn
        self.pool = open_pool(self.dsn, timeout=settings.database_connect_timeout_s)
        self.checkpointer = PostgresSaver(self.pool)  # type: ignore[arg-type]
        self.runs = RunStore(self.pool)
        self.queue = RunQueue(self.pool)
        self.feed = EventFeed(self.pool)
        self.approvals = ProjectApprovals(self.pool)
        self.audit = AuditLog.open(settings, self.pool)
        self._memory: MemoryService | None = None
        # Langfuse (LANGFUSE_* keys): one trace per run; None sends nothing
        self.tracing = tracing if tracing is not None else open_tracing()
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

    def _recorder(self, row: RunRow, driver: str | None = None) -> RunRecorder:
        memory = self.memory if self.settings.memory_enabled else None
        return RunRecorder(self.runs, self.audit, row, memory, driver)

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
        unattended: bool | None = None,
    ) -> RunReport:
        """Start a new run and drive it in this process until it ends or waits for a person.

        ``unattended`` (default: the ``unattended`` setting) has the policy's rules
        answer every pause; the run keeps it in its state, so a resumed run does too.
        """
        created, payload, out = self._new_run(
            requirement, pipeline, project, caps, out_dir, run_id, unattended, owner
        )
        run_id = payload["run_id"]
        driver, lease = new_driver(), self.settings.run_lease_seconds
        self.runs.create(
            run_id,
            created.requirement,
            pipeline,
            str(out),
            project,
            owner,
            driver=driver,
            lease_s=lease,
        )
        row = self.get(run_id)
        self._log_created(row, created, owner)
        return self._drive(row, driver, payload, on_event)

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
        """Check a new run's input; return its creation event, the graph's input, its folder."""
        unattended = self.settings.unattended if unattended is None else unattended
        load_pipeline(pipeline)  # fail fast on an unknown pipeline
        requirement = redact(checked_text(requirement, "the requirement"))
        project = checked_text(project, "the project")
        run_id = run_id or new_run_id()
        out = writable_folder(out_dir or Path.cwd() / "out" / run_id)
        budget = default_caps(self.settings)
        if caps is not None:
            budget["run"] = {**budget["run"], **caps.model_dump(exclude_none=True)}
        created = RunCreated(
            requirement=requirement,
            pipeline=pipeline,
            project=project,
            budget=budget,
            unattended=unattended,
        )
        payload = {
            "run_id": run_id,
            "requirement": requirement,
            "pipeline": pipeline,
            "project": project,
            "budget": budget,
            "phase": Phase.DRAFT.value,
            "unattended": unattended,
            "owner": owner,
        }
        return created, payload, out

    def _log_created(self, row: RunRow, created: RunCreated, owner: str) -> None:
        self._recorder(row).log(created, actor=owner or "factory", key="run_created")
        self.feed.append(row.run_id, created)

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
        driver = new_driver()
        if not self.runs.claim(row, driver, self.settings.run_lease_seconds):
            raise RunBusyError(f"run {run_id} was claimed by another process first")
        return self._drive(row, driver, None, on_event)

    def _drive(
        self,
        row: RunRow,
        driver: str,
        payload: Any,
        on_event: EventSink | None,
        first: Event | None = None,
        stop: StopCheck | None = None,
    ) -> RunReport:
        """Stream the graph for a run this process claimed, holding its lease; then release it.

        At every step boundary the drive asks whether someone cancelled the run
        (then it ends CANCELLED) and ``stop`` whether this process must let go
        (then the run goes back to the queue for another worker).
        """
        run_id, out_dir = row.run_id, Path(row.out_dir)
        graph, config = self.graph(row.pipeline), self._config(run_id)
        tracer = RunTracer(self.tracing, row) if self.tracing is not None else None
        if tracer is not None:  # Langfuse: this drive joins the run's one trace
            config = cast(RunnableConfig, {**config, **tracer.config()})
        recorder = self._recorder(row, driver)
        context = Context(
            settings=self.settings,
            models=self.models,
            project_spent=self.runs.project_spent(row.project, excluding=run_id),
            memory=recorder.memory,
            pre_approval=self.approvals.current(row.project),
        )
        caller = on_event or (lambda event: None)
        lock = threading.Lock()  # parallel stages emit from their own threads

        def publish(event: Event) -> None:  # the live feed, and the trace
            self.feed.append(run_id, event)
            if tracer is not None:
                tracer.event(event)
                if isinstance(event, RunFinished):
                    tracer.finish(event.status, event.reason)

        def keep(event: Event) -> None:
            with lock:
                recorder.record(event)
                publish(event)

        context.record = keep  # a node's events are kept before its writes are saved

        def show(event: Event) -> None:
            publish(event)
            caller(event)

        failure = cancelled = let_go = ""
        resumed = not isinstance(payload, dict)  # a resume or an answer
        with (
            bound_run(run_id),  # every line logged while it drives names the run
            Lease(self.runs, run_id, driver, self.settings.run_lease_seconds) as lease,
        ):
            try:
                show(
                    RunStarted(
                        run_id=run_id, pipeline=row.pipeline, out_dir=str(out_dir), resumed=resumed
                    )
                )
                if first is not None:
                    show(first)
                running: set[str] = set()  # the pipeline's steps under way (their task ids)
                for ns, mode, chunk in graph.stream(
                    payload,
                    config,
                    context=context,
                    stream_mode=["custom", "tasks"],
                    subgraphs=True,
                    durability="sync",
                ):
                    if mode == "tasks":
                        if ns:
                            continue  # a step inside a stage: the stage is still under way
                        task = cast(dict[str, Any], chunk)
                        if "input" in task:
                            running.add(task["id"])
                            continue
                        running.discard(task["id"])
                        if running:
                            continue
                        # a step boundary: every started step ended and its writes are
                        # saved, and the next has not begun; stopping here loses nothing
                        if lease.lost:  # another process drives it now: record nothing more
                            break
                        cancelled = self.queue.cancel_requested(run_id) or ""
                        let_go = "" if cancelled or stop is None else stop()
                        if cancelled or let_go:
                            break
                        continue
                    if isinstance(chunk, Event):
                        caller(chunk)  # kept already, by the node that emitted it
            except GraphRecursionError:
                failure = f"recursion limit {self.settings.recursion_limit} reached"
            except BaseException as exc:
                recorder.abandon(exc)  # resumable by anyone, with the reason
                raise
        if lease.lost:
            show(RunError(run_id=run_id, message="the lease ran out; another process drives it"))
            return self.report(run_id)
        snapshot = graph.get_state(config)
        values = dict(snapshot.values or {})
        if let_go:
            self.queue.requeue_mine(run_id, driver)
            show(RunError(run_id=run_id, message=f"handed back to the queue: {let_go}"))
            return self.report(run_id)
        pending: tuple[Pending, ...] = ()
        if cancelled:
            status, reason = Phase.CANCELLED, f"cancelled by {cancelled}"
            moved = recorder.move(
                once("cancel", ()), Phase.CANCELLED, actor=cancelled, reason=reason
            )
            if moved is not None:
                show(
                    PhaseChanged(
                        from_phase=moved.from_phase.value,
                        to_phase=moved.to_phase.value,
                        actor=cancelled,
                        reason=reason,
                    )
                )
        else:
            pending = pending_of(run_id, snapshot)
            status, reason, paused = recorder.stop(values, pending, failure)
            if paused is not None:
                show(paused)
        records = recorder.finish(status, reason, values, pending)
        report = RunReport(
            run_id, status, reason, out_dir, records, tuple(snapshot.next), pending, values
        )
        show(RunFinished(run_id=run_id, status=status, reason=reason))
        return report
