"""Drive runs: compile the graph with the Postgres checkpointer, stream, pause, resume.

This is the edge where durability, context and (later) tracing are attached;
graph nodes never open connections themselves. The runner records lifecycle
transitions the nodes emit, and its own: PAUSED when the graph stops at an
interrupt, and the way back when a person's decision resumes it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from devfactory.artifacts import ordered_records, write_run_files, write_stage_artifacts
from devfactory.contracts import StageRecord
from devfactory.control.budget import Caps, Spend
from devfactory.control.hitl import Decision, DecisionError, Pause, check_decision
from devfactory.control.lifecycle import TERMINAL, Phase, Transition
from devfactory.graph.builder import build_graph
from devfactory.graph.context import Context, default_router
from devfactory.memory.audit import AuditLog
from devfactory.memory.embeddings import resolve_embedder
from devfactory.memory.facts import TeamFacts
from devfactory.memory.live import LiveMemory
from devfactory.memory.service import MemoryService
from devfactory.pipelines import load_pipeline
from devfactory.settings import Settings
from devfactory.store.db import migrate, open_pool, resolve_dsn
from devfactory.store.runs import RunRow, RunStore

EventSink = Callable[[dict[str, Any]], None]


class RunNotFoundError(LookupError):
    """No run has that id."""


class RunBusyError(RuntimeError):
    """The run is still being driven by a live process."""


class RunStateError(RuntimeError):
    """The run's state does not allow the request (e.g. answering a run that is not paused)."""


@dataclass(frozen=True)
class Pending:
    """One question a paused run waits on."""

    run_id: str
    interrupt_id: str
    pause: Pause


@dataclass(frozen=True)
class RunReport:
    """How a run stands after the factory drove it as far as it could."""

    run_id: str
    status: str
    reason: str
    out_dir: Path
    records: list[StageRecord]
    next_stages: tuple[str, ...] = ()
    pending: tuple[Pending, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunUsage:
    """A run's spend by team, its caps, and what its project spent in all."""

    run_id: str
    project: str
    teams: dict[str, Spend]
    total: Spend
    run_caps: Caps
    project_caps: Caps
    project_total: Spend


def _pending(run_id: str, snapshot: Any) -> tuple[Pending, ...]:
    """Read the questions a checkpoint waits on."""
    return tuple(Pending(run_id, i.id, Pause.model_validate(i.value)) for i in snapshot.interrupts)


def _once(kind: str, ids: Iterable[str]) -> str:
    """Key a transition the runner itself records: unique to this drive.

    A pause the process died in is recorded again when the run is resumed, so
    these keys are not replay-stable (node transitions are).
    """
    return f"{kind}:{','.join(sorted(ids))}:{time.time_ns()}"


def new_run_id() -> str:
    """Return a sortable, unique run id such as ``20261121-051500-a1b2c3``."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def default_caps(settings: Settings) -> dict[str, dict[str, Any]]:
    """Return the run and project caps the settings give a new run."""
    return {
        "run": Caps(
            tokens=settings.budget_run_tokens,
            cost_usd=settings.budget_run_cost_usd,
            seconds=settings.budget_run_seconds,
        ).model_dump(),
        "project": Caps(
            tokens=settings.budget_project_tokens,
            cost_usd=settings.budget_project_cost_usd,
            seconds=settings.budget_project_seconds,
        ).model_dump(),
    }


class Factory:
    """The factory's runtime: database, checkpointer, compiled graphs and runs."""

    def __init__(self, settings: Settings, *, models: Any = None) -> None:
        self.settings = settings
        self.models = models
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

    def model_source(self) -> Any:
        """Return the models runs use (the scripted source in tests, else the router)."""
        return self.models if self.models is not None else default_router(self.settings)

    def models_for(self, alias: str) -> Any:
        """Return the chat model serving ``alias`` (with its fallbacks), for free text."""
        return self.model_source().resolve(alias).plain()

    @property
    def memory(self) -> MemoryService:
        """The memory service (the embedder and mem0 are set up on first use)."""
        if self._memory is None:
            embedder = resolve_embedder(self.settings, default_router(self.settings))
            facts = None
            if self.settings.fact_memory:
                facts = TeamFacts(
                    self.dsn,
                    embedder,
                    self.settings.data_dir,
                    max_facts=self.settings.max_facts_per_stage,
                )
            self._memory = MemoryService(
                LiveMemory(self.pool, embedder),
                k=self.settings.recall_k,
                threshold=self.settings.recall_threshold,
                facts=facts,
                fact_k=self.settings.fact_k,
            )
        return self._memory

    def _move(
        self, run_id: str, key: str, to: Phase | str, *, actor: str, reason: str
    ) -> Transition | None:
        """Record a lifecycle transition in the runs table and the audit log."""
        moved = self.runs.transition(run_id, key, to, actor=actor, reason=reason)
        if moved is not None:
            self.audit.append(
                run_id,
                "transition",
                {"from": moved.from_phase.value, "to": moved.to_phase.value, "reason": reason},
                actor=actor,
                key=f"transition:{key}",
            )
        return moved

    def _audit_stage(self, run_id: str, record: StageRecord) -> None:
        """Record a finished stage's TaskResult and its model usage."""
        self.audit.append(
            run_id,
            "task_result",
            {
                "team": record.team,
                "outcome": record.outcome.value,
                "reason": record.reason,
                "attempts": record.attempts,
                "result": record.result.model_dump(mode="json") if record.result else None,
            },
            actor=record.team,
        )
        self.audit.append(
            run_id,
            "usage",
            {
                "team": record.team,
                "model": record.model,
                **record.usage.model_dump(),
                "cost_usd": record.cost_usd,
                "seconds": record.seconds,
            },
            actor=record.team,
        )

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
        self.audit.append(
            run_id,
            "run_created",
            {
                "requirement": requirement,
                "pipeline": pipeline,
                "project": project,
                "budget": budget,
            },
            actor=owner or "factory",
            key="run_created",
        )
        payload = {
            "run_id": run_id,
            "requirement": requirement,
            "pipeline": pipeline,
            "project": project,
            "budget": budget,
            "phase": Phase.DRAFT.value,
        }
        return self._drive(self.get(run_id), payload, on_event)

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
            found.extend(_pending(row.run_id, snapshot))
        return found

    def check_answer(
        self,
        run_id: str,
        decision: Decision,
        *,
        interrupt_id: str | None = None,
        kind: str | None = None,
    ) -> list[Pending]:
        """Return the questions ``decision`` answers; raise if it may not answer them.

        With several questions pending, ``interrupt_id`` (or a prefix of it) or
        ``kind`` picks which; questions of one kind may be answered together.
        Raises ``RunStateError`` when the run is not paused and ``DecisionError``
        when the decision may not answer the question.
        """
        row = self.get(run_id)
        if row.status != Phase.PAUSED:
            raise RunStateError(f"run {run_id} is {row.shown_status}, not waiting for a person")
        waiting = self.pending(run_id)
        chosen = [
            p
            for p in waiting
            if (interrupt_id is None or p.interrupt_id.startswith(interrupt_id))
            and (kind is None or p.pause.kind == kind)
        ]
        if not chosen:
            raise DecisionError(
                "no pending question matches; pending: "
                + ", ".join(f"{p.interrupt_id[:8]} ({p.pause.kind})" for p in waiting)
            )
        if len({p.pause.kind for p in chosen}) > 1:
            raise DecisionError(
                "several kinds of question are pending; choose one with --id or --kind: "
                + ", ".join(f"{p.interrupt_id[:8]} ({p.pause.kind})" for p in chosen)
            )
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
        actor, why = (
            f"{decision.by} ({decision.role})",
            f"{chosen[0].pause.kind}: {decision.summary()}",
        )
        key = _once("resume", (p.interrupt_id for p in chosen))
        value = decision.model_dump(mode="json")
        self.audit.append(
            run_id,
            "decision",
            {
                "pause": chosen[0].pause.kind,
                "team": chosen[0].pause.team,
                "question": chosen[0].pause.title,
                "interrupts": [p.interrupt_id for p in chosen],
                **value,
            },
            actor=actor,
            key=f"decision:{key}",
        )
        self._move(run_id, key, phase, actor=actor, reason=why)
        command: Command[Any] = Command(resume={p.interrupt_id: value for p in chosen})
        resumed = {
            "event": "transition",
            "from": "PAUSED",
            "to": phase,
            "actor": actor,
            "reason": why,
        }
        return self._drive(row, command, on_event, first=resumed)

    def get(self, run_id: str) -> RunRow:
        """Return a run's row or raise ``RunNotFoundError``."""
        row = self.runs.get(run_id)
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        return row

    def transitions(self, run_id: str) -> list[Transition]:
        """Return the run's lifecycle transitions in order."""
        self.get(run_id)
        return self.runs.transitions(run_id)

    def usage(self, run_id: str) -> RunUsage:
        """Return the run's spend by team (every round), its caps and its project's total."""
        row = self.get(run_id)
        values = self.graph(row.pipeline).get_state(self._config(run_id)).values or {}
        teams: dict[str, Spend] = {}
        for entry in values.get("spend", {}).values():
            team = entry.get("team", "?")
            teams[team] = teams.get(team, Spend()) + Spend.model_validate(entry)
        total = Spend.total(teams.values())
        budget = values.get("budget") or default_caps(self.settings)
        return RunUsage(
            run_id,
            row.project,
            teams,
            total,
            Caps.model_validate(budget.get("run") or {}),
            Caps.model_validate(budget.get("project") or {}),
            self.runs.project_spent(row.project, excluding=run_id) + total,
        )

    def report(self, run_id: str) -> RunReport:
        """Describe a run from its row and latest checkpoint."""
        row = self.get(run_id)
        snapshot = self.graph(row.pipeline).get_state(self._config(run_id))
        values = dict(snapshot.values or {})
        records = ordered_records(values.get("stages", {}), load_pipeline(row.pipeline).teams)
        pending = _pending(run_id, snapshot)
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

    def _drive(
        self,
        row: RunRow,
        payload: Any,
        on_event: EventSink | None,
        first: dict[str, Any] | None = None,
    ) -> RunReport:
        run_id = row.run_id
        graph = self.graph(row.pipeline)
        config = self._config(run_id)
        out_dir = Path(row.out_dir)
        self.runs.claim(run_id)
        context = Context(
            settings=self.settings,
            models=self.models,
            project_spent=self.runs.project_spent(row.project, excluding=run_id),
            memory=self.memory if self.settings.memory_enabled else None,
        )
        emit = on_event or (lambda event: None)
        emit(
            {
                "event": "run_started",
                "run_id": run_id,
                "pipeline": row.pipeline,
                "out_dir": str(out_dir),
                "resumed": not isinstance(payload, dict),
            }
        )
        if first is not None:
            emit(first)
        failure = ""
        try:
            for _ns, mode, chunk in graph.stream(
                payload,
                config,
                context=context,
                stream_mode=["custom"],
                subgraphs=True,
                durability="sync",
            ):
                if mode != "custom" or not isinstance(chunk, dict):
                    continue
                kind = chunk.get("event")
                if kind == "transition":
                    self._move(
                        run_id,
                        chunk["key"],
                        chunk["to"],
                        actor=chunk["actor"],
                        reason=chunk["reason"],
                    )
                elif kind == "stage_finished":
                    record = StageRecord.model_validate(chunk["record"])
                    write_stage_artifacts(out_dir, record)
                    self._audit_stage(run_id, record)
                elif kind in ("governance", "clarification", "notice", "facts"):
                    body = {k: v for k, v in chunk.items() if k != "event"}
                    self.audit.append(run_id, kind, body, actor="factory")
                emit(chunk)
        except GraphRecursionError:
            failure = f"recursion limit {self.settings.recursion_limit} reached"
        snapshot = graph.get_state(config)
        values = dict(snapshot.values or {})
        pending = _pending(run_id, snapshot)
        outcome = values.get("outcome") or {}
        if failure:
            status, reason = Phase.FAILED, failure
            self._move(
                run_id,
                _once("failed", ()),
                Phase.FAILED,
                actor="factory",
                reason=failure,
            )
        elif pending:
            status = Phase.PAUSED
            reason = "waiting for a person: " + "; ".join(p.pause.title for p in pending)
            paused = self._move(
                run_id,
                _once("pause", (p.interrupt_id for p in pending)),
                Phase.PAUSED,
                actor="factory",
                reason=reason[:2000],
            )
            if paused is not None:
                emit(
                    {
                        "event": "transition",
                        "from": paused.from_phase.value,
                        "to": "PAUSED",
                        "actor": "factory",
                        "reason": reason,
                    }
                )
        else:
            status = Phase(outcome.get("status", Phase.FAILED))
            reason = outcome.get("reason", "")
        records = ordered_records(values.get("stages", {}), load_pipeline(row.pipeline).teams)
        spend = Spend.total(values.get("spend", {}).values())
        write_run_files(
            out_dir,
            run_id=run_id,
            requirement=values.get("requirement", ""),
            pipeline=row.pipeline,
            status=status,
            reason=reason,
            records=records,
        )
        self.runs.release(
            run_id, reason=reason, spend=spend, requirement=values.get("requirement") or None
        )
        if status in TERMINAL and self.settings.memory_enabled:
            self.memory.retain_run(
                run_id=run_id,
                project=row.project,
                requirement=values.get("requirement", row.requirement),
                status=status,
                reason=reason,
            )
        report = RunReport(
            run_id, status, reason, out_dir, records, tuple(snapshot.next), pending, values
        )
        emit({"event": "run_finished", "run_id": run_id, "status": status, "reason": reason})
        return report
