"""The runs table: what each run is, where its output goes, and how it ended."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import psutil
from psycopg_pool import ConnectionPool


class RunStatus(StrEnum):
    """Run states recorded in the table (the control plane adds the rest)."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class RunRow:
    """One row of ``devfactory_runs``."""

    run_id: str
    requirement: str
    pipeline: str
    status: str
    reason: str
    out_dir: str
    pid: int | None
    host: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def interrupted(self) -> bool:
        """Say whether a RUNNING run's process on this host is gone (so it needs resume)."""
        if self.status != RunStatus.RUNNING or self.host != socket.gethostname():
            return False
        return self.pid is None or not psutil.pid_exists(self.pid)


class RunStore:
    """Read and write run rows."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def create(self, run_id: str, requirement: str, pipeline: str, out_dir: str) -> None:
        """Insert a new RUNNING run owned by this process."""
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO devfactory_runs (run_id, requirement, pipeline, status, out_dir,"
                " pid, host) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    run_id,
                    requirement,
                    pipeline,
                    RunStatus.RUNNING,
                    out_dir,
                    os.getpid(),
                    socket.gethostname(),
                ),
            )

    def claim(self, run_id: str) -> None:
        """Mark the run RUNNING in this process (on resume)."""
        self._update(run_id, RunStatus.RUNNING, "", os.getpid())

    def finish(self, run_id: str, status: RunStatus, reason: str) -> None:
        """Record how the run ended."""
        self._update(run_id, status, reason, None)

    def _update(self, run_id: str, status: str, reason: str, pid: int | None) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE devfactory_runs SET status = %s, reason = %s, pid = %s, host = %s,"
                " updated_at = now() WHERE run_id = %s",
                (status, reason, pid, socket.gethostname(), run_id),
            )

    def get(self, run_id: str) -> RunRow | None:
        """Return one run, or None."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT * FROM devfactory_runs WHERE run_id = %s", (run_id,)
            ).fetchone()
        return RunRow(**cast(dict[str, Any], row)) if row else None

    def list(self, limit: int = 20) -> list[RunRow]:
        """Return the newest runs first."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM devfactory_runs ORDER BY created_at DESC LIMIT %s", (limit,)
            ).fetchall()
        return [RunRow(**cast(dict[str, Any], r)) for r in rows]
