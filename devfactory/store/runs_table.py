"""The runs table, its lifecycle transitions, and who drives each run (its lease).

A run is driven by one process at a time. The driver holds a lease (a token
and an expiry) that it renews while it works (``store/lease.py``). Claiming a
run and answering a paused run are each one compare-and-set in Postgres: of two
processes trying at once, one wins and the other is refused with the reason.

Why one module: every statement here reads or writes the one runs table, and its
status column may change only through ``lifecycle.check``; split, a write path
could skip that check. The questions a run waits on are written to its view
(``store/views.py``) in the same transactions as its ``pending`` ids.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, cast

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from devfactory.control.budget import Spend
from devfactory.control.lifecycle import TERMINAL, Phase, Transition, check
from devfactory.redact import redact
from devfactory.store import views
from devfactory.store.rows import execute, fetch_all, fetch_one
from devfactory.store.views import RunView, RunViews

RunStatus = Phase  # a run's status is its lifecycle phase

CHANGED_CHANNEL = "devfactory_runs"
"""Where a write of a run's row, view or transitions is announced (a trigger, schema.sql)."""

ROW_QUERY = (  # a run row, and whether its lease still holds (computed by the database)
    "SELECT *, (lease_until IS NOT NULL AND lease_until > now()) AS leased FROM devfactory_runs"
)


class RunBusyError(RuntimeError):
    """Another process drives the run (or claimed it first)."""


class RunInputError(ValueError):
    """A run was asked for with input it cannot take (said before anything is stored)."""


class RunStateError(RuntimeError):
    """The run's state does not allow the request (e.g. answering a run that is not paused)."""


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
    driver: str | None = None
    lease_until: datetime | None = None
    pending: list[str] = field(default_factory=list)
    leased: bool = False  # the lease has not run out (computed by the database)
    mode: str = "local"  # "worker": driven by the workers (store/queue.py), else by its caller
    queued_at: datetime | None = None  # waiting for a worker since then
    inbox: dict[str, Any] | None = None  # what the next worker's drive feeds the graph
    crashes: int = 0  # drives that ended without releasing the run
    cancel_by: str | None = None  # who asked the run to stop
    archived_at: datetime | None = None  # kept past retention_days: it may be purged
    purged_at: datetime | None = None  # its checkpoints, feed and folder were deleted

    @property
    def driver_gone(self) -> bool:
        """Say whether the run's driver is known to be gone: no lease, or a dead local process."""
        if self.driver is None or not self.leased:
            return True
        import psutil  # here: a listing whose runs hold no lease never loads it

        return self.host == socket.gethostname() and (
            self.pid is None or not psutil.pid_exists(self.pid)
        )

    @property
    def interrupted(self) -> bool:
        """Say whether a working run has no live driver and waits for no worker (needs resume)."""
        if self.status in TERMINAL or self.status == Phase.PAUSED or self.queued_at is not None:
            return False
        return self.driver_gone

    @property
    def queued(self) -> bool:
        """Say whether the run waits for a worker to drive it."""
        return self.queued_at is not None and self.status not in TERMINAL

    @property
    def shown_status(self) -> str:
        """The status to show: QUEUED waiting for a worker, INTERRUPTED if its driver died."""
        if self.queued and self.driver_gone:
            return "QUEUED"
        return "INTERRUPTED" if self.interrupted else self.status


class RunFilters(TypedDict, total=False):
    """Which runs ``RunStore.list`` returns: those in ``status``, of ``owner``, in ``project``.

    The readers that hand a listing on (``RunReads.list_runs``, ``Factory.list_runs``)
    take these as keywords; one left out (or None) does not filter.
    """

    status: str | None
    owner: str | None
    project: str | None


def _locked(conn: Any, run_id: str) -> RunRow:
    """Lock the run's row until the transaction ends and return it (LookupError: no such run)."""
    row = conn.execute(f"{ROW_QUERY} WHERE run_id = %s FOR UPDATE", (run_id,)).fetchone()
    if row is None:
        raise LookupError(f"no run {run_id!r}")
    return RunRow(**cast(dict[str, Any], row))


class RunStore:
    """Read and write run rows and their transitions (and, beside them, the runs' ``views``)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.views = RunViews(pool)

    def create(
        self,
        run_id: str,
        requirement: str,
        pipeline: str,
        out_dir: str,
        project: str = "default",
        owner: str = "",
        *,
        driver: str,
        lease_s: float,
    ) -> None:
        """Insert a new DRAFT run started by ``owner`` and driven by ``driver`` (its lease)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO devfactory_runs (run_id, requirement, pipeline, status, out_dir,"
                " pid, host, project, owner, driver, lease_until) VALUES (%s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
                (
                    run_id,
                    redact(requirement),
                    pipeline,
                    Phase.DRAFT,
                    out_dir,
                    os.getpid(),
                    socket.gethostname(),
                    project,
                    owner,
                    driver,
                    lease_s,
                ),
            )
            views.create(conn, run_id)

    def claim(self, row: RunRow, driver: str, lease_s: float) -> bool:
        """Take the run for ``driver`` if nobody drives it; one compare-and-set.

        ``row`` is the run as the caller saw it: the claim succeeds only if the
        run is still driven by the same (gone) driver, so of two processes that
        saw it at once exactly one wins.
        """
        if not row.driver_gone:
            return False
        claimed = execute(
            self.pool,
            "UPDATE devfactory_runs SET driver = %s, lease_until = now() +"
            " make_interval(secs => %s), pid = %s, host = %s, updated_at = now()"
            " WHERE run_id = %s AND driver IS NOT DISTINCT FROM %s AND status = %s",
            (
                driver,
                lease_s,
                os.getpid(),
                socket.gethostname(),
                row.run_id,
                row.driver,
                row.status,
            ),
        )
        return claimed == 1

    def renew(self, run_id: str, driver: str, lease_s: float) -> bool:
        """Extend ``driver``'s lease; False when the run is no longer its to drive."""
        renewed = execute(
            self.pool,
            "UPDATE devfactory_runs SET lease_until = now() + make_interval(secs => %s)"
            " WHERE run_id = %s AND driver = %s",
            (lease_s, run_id, driver),
        )
        return renewed == 1

    def release(
        self,
        run_id: str,
        *,
        reason: str,
        spend: Spend | None = None,
        spend_detail: list[dict[str, Any]] | None = None,
        requirement: str | None = None,
        pending: list[str] | None = None,
        driver: str | None = None,
        view: RunView | None = None,
    ) -> bool:
        """Record where the run stopped; nobody drives it until it is claimed again.

        ``spend_detail`` is kept in ``spend`` as ``by``; ``driver``: only its hold is released.
        ``view``: what the run's readers are shown now, its questions those ``pending`` names
        (None: it waits on nothing, and the rest of its view stays as it was).
        """
        values: dict[str, Any] = {"reason": redact(reason), "pending": pending or []}
        if spend is not None:
            values["spend"] = Jsonb({**spend.model_dump(), "by": spend_detail or []})
        if requirement:
            values["requirement"] = redact(requirement)
        cols = ", ".join(f"{k} = %s" for k in values)
        with self.pool.connection() as conn, conn.transaction():
            released = conn.execute(
                f"UPDATE devfactory_runs SET {cols}, driver = NULL, lease_until = NULL,"  # noqa: S608
                " pid = NULL, updated_at = now() WHERE run_id = %s"
                " AND (%s::text IS NULL OR driver = %s)",
                (*values.values(), run_id, driver, driver),
            ).rowcount
            if released == 1 and view is not None:
                views.stopped(conn, run_id, view)
            elif released == 1:
                views.ask(conn, run_id, [])
        return released == 1

    def pause(
        self,
        run_id: str,
        key: str,
        questions: Sequence[dict[str, Any]],
        *,
        actor: str,
        reason: str,
    ) -> Transition | None:
        """Move the run to PAUSED with the questions it waits on, in one transaction.

        Each question is ``{"id": <interrupt id>, "pause": ...}``: the ids are what an
        answer must name (``take_pause``), the questions what readers are shown.
        """
        with self.pool.connection() as conn, conn.transaction():
            _locked(conn, run_id)
            moved = self._move(conn, run_id, key, Phase.PAUSED, actor=actor, reason=reason)
            conn.execute(
                "UPDATE devfactory_runs SET pending = %s WHERE run_id = %s",
                ([str(q["id"]) for q in questions], run_id),
            )
            views.ask(conn, run_id, questions)
        return moved

    def take_pause(
        self,
        run_id: str,
        interrupt_ids: list[str],
        *,
        driver: str | None,
        lease_s: float,
        key: str,
        to: Phase | str,
        actor: str,
        reason: str,
        inbox: dict[str, Any] | None = None,
    ) -> Transition:
        """Answer a paused run atomically: check the pause is still pending, move it on, drive it.

        With no ``driver`` the run is queued for a worker instead, with ``inbox``
        (the answers) for its next drive.

        Raises ``RunStateError`` when the run no longer waits on ``interrupt_ids``
        (another answer was taken first) and ``RunBusyError`` when it is driven.
        """
        with self.pool.connection() as conn, conn.transaction():
            run = _locked(conn, run_id)
            if run.status != Phase.PAUSED:
                raise RunStateError(
                    f"run {run_id} is {run.status}: it no longer waits for a person"
                )
            gone = [i for i in interrupt_ids if i not in run.pending]
            if gone:
                raise RunStateError(
                    f"run {run_id} no longer waits on {', '.join(i[:8] for i in gone)}"
                    " (it was answered already)"
                )
            if run.driver is not None and not run.driver_gone:
                raise RunBusyError(f"run {run_id} is being driven by {run.driver}")
            moved = self._move(conn, run_id, key, to, actor=actor, reason=reason)
            if driver is None:
                conn.execute(
                    "UPDATE devfactory_runs SET pending = '{}', driver = NULL, lease_until ="
                    " NULL, pid = NULL, mode = 'worker', queued_at = now(), inbox = %s"
                    " WHERE run_id = %s",
                    (Jsonb(inbox or {}), run_id),
                )
                conn.execute("NOTIFY devfactory_queue")
            else:
                conn.execute(
                    "UPDATE devfactory_runs SET pending = '{}', driver = %s, lease_until = now()"
                    " + make_interval(secs => %s), pid = %s, host = %s WHERE run_id = %s",
                    (driver, lease_s, os.getpid(), socket.gethostname(), run_id),
                )
            views.ask(conn, run_id, [])  # answered: readers see the question go with its id
        assert moved is not None  # the key is new: one per answer
        return moved

    def end_idle(
        self, run_id: str, key: str, to: Phase, *, actor: str, reason: str
    ) -> Transition | None:
        """End a run nobody drives (queued, paused or interrupted) in one transaction.

        ``to`` is CANCELLED (a person asked) or FAILED (the watchdog gave up).
        Returns None when a live driver holds the run (it stops at its next step
        boundary and records the cancellation itself) or the run has ended.
        """
        with self.pool.connection() as conn, conn.transaction():
            run = _locked(conn, run_id)
            if run.status in TERMINAL or not run.driver_gone:
                return None
            moved = self._move(conn, run_id, key, to, actor=actor, reason=reason)
            conn.execute(
                "UPDATE devfactory_runs SET reason = %s, pending = '{}', queued_at = NULL,"
                " inbox = NULL, driver = NULL, lease_until = NULL, pid = NULL WHERE run_id = %s",
                (redact(reason)[:2000], run_id),
            )
            views.ask(conn, run_id, [])
        return moved

    def transition(
        self, run_id: str, key: str, to: Phase | str, *, actor: str, reason: str = ""
    ) -> Transition | None:
        """Move the run to ``to`` and record why; a key already recorded is a no-op.

        Raises ``IllegalTransitionError`` when the lifecycle does not allow it.
        """
        with self.pool.connection() as conn, conn.transaction():
            _locked(conn, run_id)
            return self._move(conn, run_id, key, to, actor=actor, reason=reason)

    def _move(
        self, conn: Any, run_id: str, key: str, to: Phase | str, *, actor: str, reason: str
    ) -> Transition | None:
        """Check and record one move inside the caller's transaction (the row is locked)."""
        seen = conn.execute(
            "SELECT 1 FROM devfactory_transitions WHERE run_id = %s AND key = %s", (run_id, key)
        ).fetchone()
        if seen:
            return None
        row = conn.execute("SELECT status FROM devfactory_runs WHERE run_id = %s", (run_id,))
        current = Phase(cast(dict[str, Any], row.fetchone())["status"])
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
            (run_id, key, current, Phase(to), actor, redact(reason)[:2000]),
        )
        conn.execute(
            "UPDATE devfactory_runs SET status = %s, updated_at = now() WHERE run_id = %s",
            (Phase(to), run_id),
        )
        return Transition(from_phase=current, to_phase=Phase(to), actor=actor, reason=reason)

    def transitions(self, run_id: str) -> list[Transition]:
        """Return the run's transitions in the order they happened."""
        rows = fetch_all(
            self.pool,
            "SELECT id AS seq, from_phase, to_phase, actor, reason, at FROM"
            " devfactory_transitions WHERE run_id = %s ORDER BY id",
            (run_id,),
        )
        return [Transition.model_validate(r) for r in rows]

    def project_spent(self, project: str, *, excluding: str = "") -> Spend:
        """Sum what the project's other runs spent."""
        rows = fetch_all(
            self.pool,
            "SELECT spend FROM devfactory_runs WHERE project = %s AND run_id <> %s",
            (project, excluding),
        )
        return Spend.total(r["spend"] or {} for r in rows)

    def projects(self, owners: Sequence[str]) -> set[str]:
        """Return the projects of the runs ``owners`` started (whose names they may read)."""
        rows = fetch_all(
            self.pool,
            "SELECT DISTINCT project FROM devfactory_runs WHERE owner = ANY(%s::text[])",
            (list(owners),),
        )
        return {str(r["project"]) for r in rows}

    def get(self, run_id: str) -> RunRow | None:
        """Return one run, or None."""
        row = fetch_one(self.pool, f"{ROW_QUERY} WHERE run_id = %s", (run_id,))
        return RunRow(**row) if row else None

    def page(
        self,
        limit: int,
        *,
        after: tuple[datetime, str] | None = None,
        status: str | None = None,
        owner: str | None = None,
        project: str | None = None,
        words: Sequence[str] = (),
    ) -> list[RunRow]:
        """Return up to ``limit`` runs older than ``after`` (created_at, run_id), newest first.

        ``status`` QUEUED means waiting for a worker; any other is a lifecycle phase.
        ``words`` must each appear (any case) in the id, requirement, owner or project.
        """
        queued = status == "QUEUED"
        phase = None if queued else status
        at, ident = after or (None, None)
        likes = ["%" + re.sub(r"([\\%_])", r"\\\1", w.lower()) + "%" for w in words]
        rows = fetch_all(
            self.pool,
            f"{ROW_QUERY} WHERE (%s::text IS NULL OR status = %s) AND (NOT %s OR queued_at IS"
            " NOT NULL) AND (%s::text IS NULL OR owner = %s) AND (%s::text IS NULL OR"
            " project = %s) AND (%s::timestamptz IS NULL OR (created_at, run_id) <"
            " (%s::timestamptz, %s::text)) AND lower(concat_ws(' ', run_id, requirement, owner,"
            " project)) LIKE ALL (%s::text[]) ORDER BY created_at DESC, run_id DESC LIMIT %s",
            (phase, phase, queued, owner, owner, project, project, at, at, ident, likes, limit),
        )
        return [RunRow(**cast(dict[str, Any], r)) for r in rows]

    def list(
        self,
        limit: int = 20,
        *,
        status: str | None = None,
        owner: str | None = None,
        project: str | None = None,
    ) -> list[RunRow]:
        """Return the newest runs first (only those in ``status``, of ``owner``, in ``project``)."""
        rows = fetch_all(
            self.pool,
            f"{ROW_QUERY} WHERE (%s::text IS NULL OR status = %s)"
            " AND (%s::text IS NULL OR owner = %s) AND (%s::text IS NULL OR project = %s)"
            " ORDER BY created_at DESC LIMIT %s",
            (status, status, owner, owner, project, project, limit),
        )
        return [RunRow(**r) for r in rows]
