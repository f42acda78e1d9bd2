"""Where one factory keeps its runs: the stores it opens once, and the graphs on its checkpointer.

``Stores`` holds the connection pool and every ``store/`` and ``memory/`` object
built on it; ``Graphs`` compiles each pipeline on the Postgres checkpointer, and a
run's checkpoints are read through it. The factory's services (``Queries``,
``Answers``, ``QueuedRuns``, ``RunDriver``) take both instead of inheriting them
(``Answers`` and ``QueuedRuns`` take the ``RunDriver``'s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot
from psycopg_pool import ConnectionPool

from devfactory.graph.builder import build_graph
from devfactory.graph.checkpoints import RunCheckpoints
from devfactory.memory.audit import AuditLog
from devfactory.memory.service import MemoryService
from devfactory.models.router import router_for
from devfactory.settings import Settings
from devfactory.store.approvals import ProjectApprovals, ProjectCaps
from devfactory.store.db import open_pool
from devfactory.store.event_feed import EventFeed
from devfactory.store.queue import RunQueue
from devfactory.store.runs_table import RunStore


class LazyMemory:
    """The memory service, opened on first call: the embedder and mem0 are slow to set up."""

    def __init__(self, settings: Settings, pool: ConnectionPool, dsn: str) -> None:
        self._settings, self._pool, self._dsn = settings, pool, dsn
        self._service: MemoryService | None = None

    def __call__(self) -> MemoryService:
        """Return the memory service, opening it the first time."""
        if self._service is None:
            embedder = router_for(self._settings).embedder()
            self._service = MemoryService.open(self._settings, self._pool, self._dsn, embedder)
        return self._service

    def close(self) -> None:
        """Finish queued fact extractions and close mem0's pool, if memory was opened."""
        if self._service is not None:
            self._service.close()


@dataclass(frozen=True)
class Stores:
    """The factory's stores, all on one connection pool."""

    pool: ConnectionPool
    checkpointer: PostgresSaver
    runs: RunStore
    queue: RunQueue
    feed: EventFeed
    approvals: ProjectApprovals
    caps: ProjectCaps
    audit: AuditLog
    memory: LazyMemory

    @classmethod
    def open(cls, settings: Settings, dsn: str) -> Stores:
        """Open the pool at ``dsn`` (a migrated database) and the stores on it."""
        pool = open_pool(dsn, timeout=settings.storage.database_connect_timeout_s)
        return cls(
            pool=pool,
            checkpointer=RunCheckpoints(pool),
            runs=RunStore(pool),
            queue=RunQueue(pool),
            feed=EventFeed(pool),
            approvals=ProjectApprovals(pool),
            caps=ProjectCaps(pool),
            audit=AuditLog.open(settings, pool),
            memory=LazyMemory(settings, pool, dsn),
        )

    def close(self) -> None:
        """Close the connection pools (mem0's first, when fact memory was opened)."""
        self.memory.close()
        self.pool.close()


class Graphs:
    """Each pipeline's graph compiled once on the checkpointer; a run is one of its threads."""

    def __init__(self, checkpointer: PostgresSaver, recursion_limit: int) -> None:
        self._checkpointer = checkpointer
        self._recursion_limit = recursion_limit
        self._compiled: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = {}

    def compiled(self, pipeline: str) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Return ``pipeline``'s graph compiled with the Postgres checkpointer."""
        if pipeline not in self._compiled:
            graph = build_graph(pipeline).compile(checkpointer=self._checkpointer)
            self._compiled[pipeline] = graph
        return self._compiled[pipeline]

    def config(self, run_id: str) -> RunnableConfig:
        """Return the config that names ``run_id``'s thread (and its trace's name and tags)."""
        return {
            "configurable": {"thread_id": run_id},
            "recursion_limit": self._recursion_limit,
            "run_name": f"devfactory run {run_id}",
            "tags": ["devfactory", f"run:{run_id}"],
        }

    def state(self, pipeline: str, run_id: str) -> StateSnapshot:
        """Return the run's latest checkpoint."""
        return self.compiled(pipeline).get_state(self.config(run_id))
