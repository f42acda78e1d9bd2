"""The runs table and its lifecycle transitions."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import psutil
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from devfactory.control.budget import Spend
from devfactory.control.lifecycle import TERMINAL, Phase, Transition, check

RunStatus = Phase  # a run's status is its lifecycle phase


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
    project: str = "default"
    spend: dict[str, Any] | None = None
    owner: str = ""

    @property
    def interrupted(self) -> bool:
        """Say whether a working run's process on this host is gone (so it needs resume)."""
        if self.status in TERMINAL or self.status == Phase.PAUSED:
            return False
        if self.host != socket.gethostname():
            return False
        return self.pid is None or not psutil.pid_exists(self.pid)

    @property
    def shown_status(self) -> str:
        """The status to show: INTERRUPTED for a working run whose process died."""
        return "INTERRUPTED" if self.interrupted else self.status


class RunStore:
    """Read and write run rows and their transitions."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def create(
        self,
        run_id: str,
        requirement: str,
        pipeline: str,
        out_dir: str,
        project: str = "default",
        owner: str = "",
    ) -> None:
        """Insert a new DRAFT run driven by this process and started by ``owner``."""
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO devfactory_runs (run_id, requirement, pipeline, status, out_dir,"
                " pid, host, project, owner) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    run_id,
                    requirement,
                    pipeline,
                    Phase.DRAFT,
                    out_dir,
                    os.getpid(),
                    socket.gethostname(),
                    project,
                    owner,
                ),
            )

    def claim(self, run_id: str) -> None:
        """Record that this process drives the run now."""
        self._set(run_id, pid=os.getpid())

    def release(
        self,
        run_id: str,
        *,
        reason: str,
        spend: Spend,
        requirement: str | None = None,
    ) -> None:
        """Record where the run stopped: no process owns it until it is driven again."""
        self._set(
            run_id,
            pid=None,
            reason=reason,
            spend=Jsonb(spend.model_dump()),
            requirement=requirement,
        )

    def _set(self, run_id: str, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None or k == "pid"}
        cols = ", ".join(f"{k} = %s" for k in values)
        with self.pool.connection() as conn:
            conn.execute(
                f"UPDATE devfactory_runs SET {cols}, host = %s, updated_at = now()"  # noqa: S608
                " WHERE run_id = %s",
                (*values.values(), socket.gethostname(), run_id),
            )

    def transition(
        self, run_id: str, key: str, to: Phase | str, *, actor: str, reason: str = ""
    ) -> Transition | None:
        """Move the run to ``to`` and record why; a key already recorded is a no-op.

        Raises ``IllegalTransitionError`` when the lifecycle does not allow it.
        """
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT status FROM devfactory_runs WHERE run_id = %s FOR UPDATE", (run_id,)
            ).fetchone()
            if row is None:
                raise LookupError(f"no run {run_id!r}")
            seen = conn.execute(
                "SELECT 1 FROM devfactory_transitions WHERE run_id = %s AND key = %s",
                (run_id, key),
            ).fetchone()
            if seen:
                return None
            current = Phase(cast(dict[str, Any], row)["status"])
            paused_from = None
            if current is Phase.PAUSED:
                last = conn.execute(
                    "SELECT from_phase FROM devfactory_transitions WHERE run_id = %s AND"
                    " to_phase = 'PAUSED' ORDER BY id DESC LIMIT 1",
                    (run_id,),
                ).fetchone()
                paused_from = cast(dict[str, Any], last)["from_phase"] if last else None
            check(current, to, paused_from=paused_from)
            conn.execute(
                "INSERT INTO devfactory_transitions (run_id, key, from_phase, to_phase, actor,"
                " reason) VALUES (%s, %s, %s, %s, %s, %s)",
                (run_id, key, current, Phase(to), actor, reason[:2000]),
            )
            conn.execute(
                "UPDATE devfactory_runs SET status = %s, updated_at = now() WHERE run_id = %s",
                (Phase(to), run_id),
            )
        return Transition(from_phase=current, to_phase=Phase(to), actor=actor, reason=reason)

    def transitions(self, run_id: str) -> list[Transition]:
        """Return the run's transitions in the order they happened."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT id AS seq, from_phase, to_phase, actor, reason, at FROM"
                " devfactory_transitions WHERE run_id = %s ORDER BY id",
                (run_id,),
            ).fetchall()
        return [Transition.model_validate(r) for r in rows]

    def project_spent(self, project: str, *, excluding: str = "") -> Spend:
        """Sum what the project's other runs spent."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT spend FROM devfactory_runs WHERE project = %s AND run_id <> %s",
                (project, excluding),
            ).fetchall()
        return Spend.total(cast(dict[str, Any], r)["spend"] or {} for r in rows)

    def get(self, run_id: str) -> RunRow | None:
        """Return one run, or None."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT * FROM devfactory_runs WHERE run_id = %s", (run_id,)
            ).fetchone()
        return RunRow(**cast(dict[str, Any], row)) if row else None

    def list(
        self,
        limit: int = 20,
        *,
        status: str | None = None,
        owner: str | None = None,
        project: str | None = None,
    ) -> list[RunRow]:
        """Return the newest runs first (only those in ``status``, of ``owner``, in ``project``)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM devfactory_runs WHERE (%s::text IS NULL OR status = %s)"
                " AND (%s::text IS NULL OR owner = %s) AND (%s::text IS NULL OR project = %s)"
                " ORDER BY created_at DESC LIMIT %s",
                (status, status, owner, owner, project, project, limit),
            ).fetchall()
        return [RunRow(**cast(dict[str, Any], r)) for r in rows]
