"""Drive runs: compile the graph with the Postgres checkpointer, stream, persist output.

This is the edge where durability, context and (later) tracing are attached;
graph nodes never open connections themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph

from devfactory.artifacts import ordered_records, write_run_files, write_stage_artifacts
from devfactory.contracts import StageRecord
from devfactory.graph.builder import build_graph
from devfactory.graph.context import Context
from devfactory.pipelines import load_pipeline
from devfactory.settings import Settings
from devfactory.store.db import migrate, open_pool, resolve_dsn
from devfactory.store.runs import RunRow, RunStatus, RunStore

EventSink = Callable[[dict[str, Any]], None]


class RunNotFoundError(LookupError):
    """No run has that id."""


class RunBusyError(RuntimeError):
    """The run is still being driven by a live process."""


@dataclass(frozen=True)
class RunReport:
    """How a run stands after the factory drove it as far as it could."""

    run_id: str
    status: str
    reason: str
    out_dir: Path
    records: list[StageRecord]
    next_stages: tuple[str, ...] = ()


def new_run_id() -> str:
    """Return a sortable, unique run id such as ``20261121-051500-a1b2c3``."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


class Factory:
    """The factory's runtime: database, checkpointer, compiled graphs and runs."""

    def __init__(self, settings: Settings, *, models: Any = None) -> None:
        self.settings = settings
        self.models = models
        self.pool = open_pool(resolve_dsn(settings))
        migrate(self.pool)
        self.checkpointer = PostgresSaver(self.pool)  # type: ignore[arg-type]
        self.checkpointer.setup()
        self.runs = RunStore(self.pool)
        self._graphs: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = {}

    def __enter__(self) -> Factory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.pool.close()

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
        out_dir: Path | None = None,
        on_event: EventSink | None = None,
        run_id: str | None = None,
    ) -> RunReport:
        """Start a new run and drive it to its end (or until the process dies)."""
        load_pipeline(pipeline)  # fail fast on an unknown pipeline
        requirement = requirement.strip()
        if not requirement:
            raise ValueError("the requirement is empty")
        run_id = run_id or new_run_id()
        out = (out_dir or Path.cwd() / "out" / run_id).resolve()
        self.runs.create(run_id, requirement, pipeline, str(out))
        payload = {"run_id": run_id, "requirement": requirement, "pipeline": pipeline}
        return self._drive(run_id, pipeline, out, payload, on_event)

    def resume(self, run_id: str, *, on_event: EventSink | None = None) -> RunReport:
        """Continue a run from its last checkpoint; finished stages are not run again."""
        row = self.get(run_id)
        if row.status == RunStatus.RUNNING and not row.interrupted:
            raise RunBusyError(
                f"run {run_id} is still running (pid {row.pid} on {row.host}); "
                "resume it once that process has stopped"
            )
        self.runs.claim(run_id)
        return self._drive(run_id, row.pipeline, Path(row.out_dir), None, on_event)

    def get(self, run_id: str) -> RunRow:
        """Return a run's row or raise ``RunNotFoundError``."""
        row = self.runs.get(run_id)
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        return row

    def report(self, run_id: str) -> RunReport:
        """Describe a run from its row and latest checkpoint."""
        row = self.get(run_id)
        graph = self.graph(row.pipeline)
        snapshot = graph.get_state(self._config(run_id))
        stages = snapshot.values.get("stages", {}) if snapshot.values else {}
        records = ordered_records(stages, load_pipeline(row.pipeline).teams)
        status = "INTERRUPTED" if row.interrupted else row.status
        return RunReport(
            run_id, status, row.reason, Path(row.out_dir), records, tuple(snapshot.next)
        )

    def _drive(
        self,
        run_id: str,
        pipeline: str,
        out_dir: Path,
        payload: dict[str, Any] | None,
        on_event: EventSink | None,
    ) -> RunReport:
        graph = self.graph(pipeline)
        config = self._config(run_id)
        context = Context(settings=self.settings, models=self.models)
        emit = on_event or (lambda event: None)
        emit(
            {
                "event": "run_started",
                "run_id": run_id,
                "pipeline": pipeline,
                "out_dir": str(out_dir),
                "resumed": payload is None,
            }
        )
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
                if mode == "custom" and isinstance(chunk, dict):
                    if chunk.get("event") == "stage_finished":
                        write_stage_artifacts(out_dir, StageRecord.model_validate(chunk["record"]))
                    emit(chunk)
        except GraphRecursionError:
            failure = f"recursion limit {self.settings.recursion_limit} reached"
        snapshot = graph.get_state(config)
        values = snapshot.values or {}
        outcome = values.get("outcome") or {}
        if failure:
            status, reason = RunStatus.FAILED, failure
        else:
            status = RunStatus(outcome.get("status", RunStatus.FAILED))
            reason = outcome.get("reason", "")
        records = ordered_records(values.get("stages", {}), load_pipeline(pipeline).teams)
        write_run_files(
            out_dir,
            run_id=run_id,
            requirement=values.get("requirement", ""),
            pipeline=pipeline,
            status=status,
            reason=reason,
            records=records,
        )
        self.runs.finish(run_id, status, reason)
        report = RunReport(run_id, status, reason, out_dir, records, tuple(snapshot.next))
        emit({"event": "run_finished", "run_id": run_id, "status": status, "reason": reason})
        return report
